//! A plain-http server on this computer gets the token only if it runs as a
//! trusted user (our own, root, a system account; docs/architecture.md,
//! "Proxy"): a listener of another person or of `nobody` (through setpriv)
//! gets a connection but not one byte of a request, from the proxy or from
//! Test connection. Keybearer run as an ordinary user (this test binary
//! again, through setpriv) sends it to a root or system server, and not to
//! another person's. An nginx of root whose workers run as `nobody` is
//! refused on every one of many new connections, one whose workers run as
//! `www-data` served on every one: the verdict does not depend on how
//! quickly a worker took the connection. Needs root to run processes as
//! other users and nginx (`scripts/install-deps.sh`): skipped with a message
//! without root, failed where `CI` is set (CI runs as root; `support::root`).

#![cfg(target_os = "linux")]

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use keybearer_proxy::SessionProxy;
use keybearer_vault::{
    test_connection, AccessToken, ConnectionOutcome, Engine, KeyStore, KeychainError, MasterKey,
    NewCredential, Protocol, SetupProtection,
};
use support::root::can_act_as_other_users;
use support::{body_text, engine_with, request_to, send_raw, start_proxy};

const TOKEN: &str = "tok-loopback-owner-5d2a";
/// The ordinary user Keybearer runs as in `an_ordinary_user_*`, and another
/// person: ids no account of this computer is expected to have.
const KEYBEARER_USER: u32 = 4243;
const ANOTHER_PERSON: u32 = 4244;
const NOBODY: u32 = 65534;
/// `www-data`, a system account (below UID_MIN).
const SYSTEM_ACCOUNT: u32 = 33;
/// What the tests that run programs as other users need besides root.
const TOOLS: [&str; 2] = ["setpriv", "python3"];
/// Tells this binary, started again as `KEYBEARER_USER`, which servers to try.
const AS_USER: &str = "KEYBEARER_TEST_LOOPBACK_URLS";

/// Records every byte it receives into a file, answers 200. With `defer`,
/// its connections stay half-open (SYN_RECV) until data arrives
/// (TCP_DEFER_ACCEPT), which the owner check must see through.
const SERVER: &str = r#"
import socket, sys
seen = open(sys.argv[1], "ab")
s = socket.socket()
if sys.argv[2] == "defer":
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
with seen:
    while True:
        c, _ = s.accept()
        c.settimeout(2)
        try:
            data = c.recv(65536)
        except OSError:
            data = b""
        seen.write(data)
        seen.flush()
        try:
            c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        except OSError:
            pass
        c.close()
"#;

/// A command run as `uid` (same-numbered group, no others).
fn as_user(uid: Option<u32>, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let Some(uid) = uid else {
        return Command::new(program);
    };
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid", &uid.to_string(), "--regid", &uid.to_string()])
        .args(["--clear-groups", "--"])
        .arg(program);
    command
}

struct Recorder {
    child: Child,
    url: String,
    seen: PathBuf,
}

impl Recorder {
    /// The recording server as `uid` (`None`: as this process).
    fn start(dir: &Path, uid: Option<u32>, defer: bool) -> Self {
        let seen = dir.join(format!("seen-{uid:?}-{defer}"));
        let mut child = as_user(uid, "/usr/bin/python3")
            .args(["-c", SERVER])
            .arg(&seen)
            .arg(if defer { "defer" } else { "plain" })
            .stdout(Stdio::piped())
            .spawn()
            .expect("server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the recording server did not start (as {uid:?})"));
        let url = format!("http://127.0.0.1:{port}/mcp");
        Self { child, url, seen }
    }

    fn got_the_token(&self) -> bool {
        String::from_utf8_lossy(&std::fs::read(&self.seen).unwrap_or_default()).contains(TOKEN)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder every user can reach, with a subfolder every user can write.
fn shared_dirs() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).expect("chmod");
    let shared = dir.path().join("seen");
    std::fs::create_dir(&shared).expect("dir");
    std::fs::set_permissions(&shared, PermissionsExt::from_mode(0o1777)).expect("chmod");
    (dir, shared)
}

/// One request through the proxy's listener for `url`: status and body.
async fn through(proxy: &SessionProxy, url: &str) -> (StatusCode, String) {
    let local = proxy.local_url(url).expect("listener");
    let addr = url::Url::parse(local)
        .expect("local url")
        .socket_addrs(|| None)
        .expect("addr")[0];
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let request = request_to(addr, Method::POST, "/mcp", Some(&secret))
        .body(Full::new(Bytes::from_static(b"{}")))
        .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    let status = response.status();
    (status, body_text(response).await)
}

/// Test connection with the token, on a blocking thread.
async fn probe(url: &str) -> (ConnectionOutcome, String) {
    let url = url.to_string();
    let secret: keybearer_vault::CredentialSecret =
        AccessToken::new(TOKEN.to_string()).expect("token").into();
    let test = tokio::task::spawn_blocking(move || {
        test_connection(&url, Some(Protocol::StreamableHttp), &secret)
    })
    .await
    .expect("probe task")
    .expect("probe runs");
    (test.outcome, test.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_server_of_another_user_never_gets_the_token() {
    if !can_act_as_other_users(
        "a_local_server_of_another_user_never_gets_the_token",
        &TOOLS,
    ) {
        return;
    }
    let (dir, shared) = shared_dirs();
    let servers = [
        (Some(NOBODY), false),
        (Some(NOBODY), true),
        (Some(ANOTHER_PERSON), false),
        (None, false),
    ];
    for (uid, defer) in servers {
        let server = Recorder::start(&shared, uid, defer);
        let data = dir.path().join(format!("data-{uid:?}-{defer}"));
        let (mut engine, vault) = engine_with(&data, "development", &server.url, TOKEN);
        let proxy = start_proxy(
            &mut engine,
            "sesn_owner",
            vec![vault.id],
            vec![server.url.clone()],
        )
        .await
        .expect("proxy");
        let (status, body) = through(&proxy, &server.url).await;
        let (outcome, message) = probe(&server.url).await;
        proxy.stop().await;
        // Give the recorder a moment to write what it received.
        std::thread::sleep(std::time::Duration::from_millis(300));

        if uid.is_some() {
            assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
            assert!(body.contains("belongs to another user"), "{body}");
            assert_eq!(outcome, ConnectionOutcome::Unreachable, "{message}");
            assert!(message.contains("another user"), "{message}");
            assert!(!server.got_the_token(), "{uid:?}'s server got the token");
        } else {
            assert_eq!(status, StatusCode::OK, "control: {body}");
            assert!(
                server.got_the_token(),
                "control: our own server gets the token"
            );
        }
    }
}

#[test]
fn an_ordinary_user_sends_to_root_and_system_servers_not_to_other_people() {
    if !can_act_as_other_users(
        "an_ordinary_user_sends_to_root_and_system_servers_not_to_other_people",
        &TOOLS,
    ) {
        return;
    }
    let (dir, shared) = shared_dirs();
    // Root's (this process's) servers, plain and deferring; a system
    // account's; another person's; nobody's; and, as a control, one of
    // Keybearer's own user.
    let root = Recorder::start(&shared, None, false);
    let root_deferring = Recorder::start(&shared, None, true);
    let system = Recorder::start(&shared, Some(SYSTEM_ACCOUNT), false);
    let person = Recorder::start(&shared, Some(ANOTHER_PERSON), false);
    let nobody = Recorder::start(&shared, Some(NOBODY), false);
    let own = Recorder::start(&shared, Some(KEYBEARER_USER), false);
    let all = [&root, &root_deferring, &system, &person, &nobody, &own];

    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    chown(&home, Some(KEYBEARER_USER), Some(KEYBEARER_USER)).expect("chown");
    let urls: Vec<&str> = all.iter().map(|server| server.url.as_str()).collect();
    let run = as_user(
        Some(KEYBEARER_USER),
        std::env::current_exe().expect("this test binary"),
    )
    .args(["--exact", "keybearer_as_an_ordinary_user", "--ignored"])
    .env(AS_USER, urls.join(" "))
    .env("HOME", &home)
    .current_dir(&home)
    .output()
    .expect("this test binary, as an ordinary user");
    assert!(
        run.status.success(),
        "as an ordinary user: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let results: HashMap<String, (String, String)> = std::fs::read_to_string(home.join("results"))
        .expect("results")
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ' ');
            let url = fields.next()?.to_string();
            Some((
                url,
                (fields.next()?.to_string(), fields.next()?.to_string()),
            ))
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    for (server, trusted) in [
        (&root, true),
        (&root_deferring, true),
        (&system, true),
        (&own, true),
        (&person, false),
        (&nobody, false),
    ] {
        let (proxy, probe) = results.get(&server.url).expect("a result per server");
        if trusted {
            assert_eq!(proxy, "200", "{}: {probe}", server.url);
            assert!(
                server.got_the_token(),
                "{} did not get the token",
                server.url
            );
        } else {
            assert_eq!(proxy, "502", "{}: {probe}", server.url);
            assert!(probe.contains("another user"), "{probe}");
            assert!(!server.got_the_token(), "{} got the token", server.url);
        }
    }
}

/// The Keybearer side of the test above, run as `KEYBEARER_USER`: for each
/// server, a request through a session proxy and a Test connection; writes
/// `url status probe-message` lines to `results` in its home.
#[test]
#[ignore = "started by an_ordinary_user_sends_to_root_and_system_servers_not_to_other_people"]
fn keybearer_as_an_ordinary_user() {
    let Ok(urls) = std::env::var(AS_USER) else {
        return;
    };
    let home = PathBuf::from(std::env::var("HOME").expect("home"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let urls: Vec<&str> = urls.split(' ').collect();
    let mut results = String::new();
    runtime.block_on(async {
        let mut engine =
            Engine::open_with_keychain(&home.join("data"), Box::new(MemoryKeys::default()))
                .expect("engine");
        engine
            .keys()
            .initialize(SetupProtection::Keychain)
            .expect("initialize");
        let credentials = urls
            .iter()
            .map(|url| NewCredential {
                mcp_server_url: url.to_string(),
                protocol: None,
                secret: AccessToken::new(TOKEN.to_string()).expect("token").into(),
            })
            .collect();
        let vault = engine
            .catalog()
            .create_vault("Local", "development", credentials)
            .expect("vault");
        let proxy = start_proxy(
            &mut engine,
            "sesn_user",
            vec![vault.id],
            urls.iter().map(|url| url.to_string()).collect(),
        )
        .await
        .expect("proxy");
        for url in &urls {
            let (status, _) = through(&proxy, url).await;
            let (_, message) = probe(url).await;
            results.push_str(&format!("{url} {} {message}\n", status.as_u16()));
        }
        proxy.stop().await;
    });
    std::fs::write(home.join("results"), results).expect("results");
}

/// The master key in memory: the ordinary user has no keychain here.
#[derive(Default)]
struct MemoryKeys(Mutex<HashMap<String, MasterKey>>);

impl KeyStore for MemoryKeys {
    fn load(&self, account: &str) -> Result<Option<MasterKey>, KeychainError> {
        Ok(self.0.lock().expect("keys").get(account).cloned())
    }

    fn save(&self, account: &str, key: &MasterKey) -> Result<(), KeychainError> {
        self.0
            .lock()
            .expect("keys")
            .insert(account.to_string(), key.clone());
        Ok(())
    }
}

/// nginx (Debian's package) run by root on a free loopback port, its
/// workers as `user`, answering 200 itself and closing every connection,
/// so each request through the proxy is a new upstream connection.
struct Nginx {
    master: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(user: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let prefix = dir.path().display();
        let config = format!(
            "daemon off; master_process on; worker_processes 2; user {user};\n\
             pid {prefix}/nginx.pid; error_log {prefix}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{ access_log off; keepalive_timeout 0;\n\
               client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;\n\
               fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi;\n\
               scgi_temp_path {prefix}/scgi;\n\
               server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\"; }} }} }}\n"
        );
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).expect("config");
        let master = Command::new("/usr/sbin/nginx")
            .args(["-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .args(["-e", &format!("{prefix}/error.log")])
            .spawn()
            .expect("nginx (scripts/install-deps.sh test installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Self {
            master,
            url: format!("http://127.0.0.1:{port}/mcp"),
            _dir: dir,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Its fast shutdown stops the workers too.
        if let Ok(pid) = i32::try_from(self.master.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = self.master.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_is_judged_by_its_workers_on_every_connection() {
    // nginx itself is started as root and drops its workers' privileges.
    if !can_act_as_other_users("nginx_is_judged_by_its_workers_on_every_connection", &[]) {
        return;
    }
    const CONNECTIONS: usize = 200;
    for (user, expected) in [
        ("nobody nogroup", StatusCode::BAD_GATEWAY),
        ("www-data www-data", StatusCode::OK),
    ] {
        let nginx = Nginx::start(user);
        let data = tempfile::tempdir().expect("tempdir");
        let (mut engine, vault) = engine_with(data.path(), "development", &nginx.url, TOKEN);
        let proxy = start_proxy(
            &mut engine,
            "sesn_nginx",
            vec![vault.id],
            vec![nginx.url.clone()],
        )
        .await
        .expect("proxy");
        let mut statuses: HashMap<StatusCode, usize> = HashMap::new();
        let mut last = String::new();
        for _ in 0..CONNECTIONS {
            let (status, body) = through(&proxy, &nginx.url).await;
            *statuses.entry(status).or_default() += 1;
            last = body;
        }
        proxy.stop().await;
        assert_eq!(
            statuses,
            HashMap::from([(expected, CONNECTIONS)]),
            "workers as {user}; last answer: {last}"
        );
        if expected != StatusCode::OK {
            assert!(last.contains("(uid 65534)"), "{last}");
        }
    }
}
