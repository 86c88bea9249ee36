//! `agent-vault` end to end: the real binary, a real Secret Service (started by
//! `scripts/with-secret-service.sh`), real SQLite files. Every command's output
//! is kept so the leak checks can scan all of it for token bytes.

#![allow(clippy::print_stderr)] // the kill loop reports what it exercised

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_agent-vault");

fn require_secret_service() {
    assert_eq!(
        std::env::var("AGENT_VAULT_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    fn fails_with(self, code: i32, message_part: &str) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(message_part),
            "expected {message_part:?} in: {}",
            self.stderr
        );
        self
    }
}

/// One user's data folder plus a transcript of everything the CLI printed.
struct Vault {
    dir: tempfile::TempDir,
    transcript: Mutex<String>,
    extra_env: Vec<(String, String)>,
}

impl Vault {
    fn new() -> Self {
        require_secret_service();
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            transcript: Mutex::new(String::new()),
            extra_env: Vec::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--data-dir").arg(self.data()).args(args);
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        command
    }

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn agent-vault");
        let written = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        // A command that rejects its arguments exits without reading stdin.
        if let Err(error) = written {
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::BrokenPipe,
                "write stdin: {error}"
            );
        }
        let output = child.wait_with_output().expect("wait");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let mut transcript = self.transcript.lock().expect("transcript");
        transcript.push_str(&run.stdout);
        transcript.push_str(&run.stderr);
        run
    }

    fn init(&self) -> String {
        let run = self.run(&["--json", "init"], "").ok();
        run.json()["recovery_key"]
            .as_str()
            .expect("recovery key")
            .to_string()
    }

    fn create_vault(&self, name: &str, environment: &str) -> String {
        let run = self
            .run(
                &["--json", "vault", "create", name, "--env", environment],
                "",
            )
            .ok();
        run.json()["id"].as_str().expect("id").to_string()
    }

    fn add(&self, vault: &str, url: &str, token: &str) -> Run {
        self.run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                vault,
                "--url",
                url,
            ],
            &format!("{token}\n"),
        )
    }

    fn keychain_account(&self) -> String {
        let status = self.run(&["--json", "status"], "").ok().json();
        status["keychain_account"]
            .as_str()
            .expect("account")
            .to_string()
    }

    fn wipe_keychain_entry(&self) {
        let account = self.keychain_account();
        let status = Command::new("secret-tool")
            .args(["clear", "service", "agent-vault", "username", &account])
            .status()
            .expect("secret-tool");
        assert!(status.success());
    }

    fn vault_count(&self) -> usize {
        self.run(&["--json", "vault", "list"], "")
            .ok()
            .json()
            .as_array()
            .expect("array")
            .len()
    }

    /// Fails if `needle` occurs in any file of the data folder or in anything printed.
    fn assert_nowhere(&self, needle: &[u8], what: &str) {
        for entry in std::fs::read_dir(self.data()).expect("data dir") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !contains(&bytes, needle),
                "{what} found in {}",
                path.display()
            );
        }
        let transcript = self.transcript.lock().expect("transcript");
        assert!(
            !contains(transcript.as_bytes(), needle),
            "{what} found in CLI output"
        );
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn random_token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("tok_{label}_{nanos:x}_{}", std::process::id())
}

#[test]
fn new_user_flow_restart_wipe_and_recover() {
    let v = Vault::new();
    let status = v.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["initialized"], false);

    let recovery = v.init();
    assert_eq!(recovery.split('-').count(), 8);
    v.run(&["init"], "").fails_with(4, "already set up");

    let vault = v.create_vault("GitHub", "production");
    let token = random_token("github");
    let added = v
        .add("GitHub", "https://api.githubcopilot.com/mcp/", &token)
        .ok()
        .json();
    assert_eq!(added["protocol"], "streamable_http");
    assert_eq!(added["type"], "static_bearer");

    let listed = v
        .run(&["--json", "vault", "list", "--env", "production"], "")
        .ok()
        .json();
    assert_eq!(listed[0]["id"], vault.as_str());
    assert_eq!(listed[0]["credential_count"], 1);
    let human = v.run(&["vault", "show", "GitHub"], "").ok();
    assert!(human.stdout.contains("https://api.githubcopilot.com/mcp/"));
    let creds = v
        .run(&["--json", "credential", "list", "--vault", &vault], "")
        .ok()
        .json();
    let fields: Vec<&String> = creds[0].as_object().expect("object").keys().collect();
    assert!(
        !fields.iter().any(|f| f.contains("token")),
        "fields: {fields:?}"
    );

    // A new process unlocks from the keychain and opens every token.
    v.run(&["credential", "check"], "").ok();

    // Keychain wiped: data is intact, the CLI asks for the recovery key and never re-keys.
    v.wipe_keychain_entry();
    v.run(&["credential", "check"], "")
        .fails_with(6, "recovery key");
    v.run(&["init"], "").fails_with(4, "already set up");
    let status = v.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["recovery_needed"], true);
    v.run(&["recover"], "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH\n")
        .fails_with(6, "does not open");
    v.run(&["recover"], "not-a-key\n")
        .fails_with(2, "does not look like a recovery key");
    let recovered = v.run(&["recover"], &format!("{recovery}\n")).ok();
    assert!(recovered.stdout.contains("1 credential(s)"));
    v.run(&["credential", "check"], "").ok();
    assert_eq!(v.vault_count(), 1);

    let events = v.run(&["--json", "events"], "").ok().json();
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().expect("kind"))
        .collect();
    for kind in [
        "setup.completed",
        "vault.created",
        "credential.created",
        "key.recovered",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    v.assert_nowhere(token.as_bytes(), "the token");
}

#[test]
fn tokens_never_leak_into_database_wal_logs_or_output() {
    let v = Vault::new();
    let recovery = v.init();
    let data = v.data();
    // Keep a reader open so SQLite cannot fold the WAL away: it gets scanned too.
    let holder = rusqlite::Connection::open(data.join("vault.db")).expect("open");
    holder
        .query_row("SELECT COUNT(*) FROM vaults", [], |row| {
            row.get::<_, i64>(0)
        })
        .expect("read");

    let mut tokens = Vec::new();
    let a = v.create_vault("Alpha", "development");
    let b = v.create_vault("Beta", "development");
    let mut credential_ids = Vec::new();
    for (i, vault) in [&a, &a, &b, &b].iter().enumerate() {
        let token = random_token(&format!("leak{i}"));
        let url = format!("https://server{i}.example.com/mcp");
        let added = v.add(vault, &url, &token).ok().json();
        credential_ids.push(added["id"].as_str().expect("id").to_string());
        tokens.push(token);
    }
    let replacement = random_token("replacement");
    v.run(
        &["--json", "credential", "replace", &credential_ids[0]],
        &format!("{replacement}\n"),
    )
    .ok();
    tokens.push(replacement);
    v.run(&["credential", "delete", &credential_ids[1], "--yes"], "")
        .ok();
    v.run(&["vault", "delete", &b, "--yes"], "").ok();
    let in_create = random_token("increate");
    v.run(
        &[
            "vault",
            "create",
            "Gamma",
            "--env",
            "staging",
            "--credential-url",
            "https://g.example.com/sse",
        ],
        &format!("{in_create}\n"),
    )
    .ok();
    tokens.push(in_create);
    // Rejected input must not be echoed either.
    let rejected = format!("{} {}", random_token("bad"), "with-space");
    v.add(&a, "https://server9.example.com/mcp", &rejected)
        .fails_with(2, "spaces");
    tokens.push(rejected);
    for args in [
        vec!["--json", "vault", "list"],
        vec!["vault", "show", "Alpha"],
        vec!["--json", "events"],
        vec!["events"],
        vec!["--json", "status"],
        vec!["credential", "check"],
    ] {
        v.run(&args, "").ok();
    }
    let wal = std::fs::metadata(data.join("vault.db-wal")).expect("WAL exists");
    assert!(wal.len() > 0, "the WAL should hold recent writes");
    assert!(data.join("vault.db-shm").exists());
    assert!(data.join("agent-vault.log").exists());

    // Positive control: the scan does read the files and output that hold data.
    let db_bytes = std::fs::read(data.join("vault.db")).expect("db");
    let wal_bytes = std::fs::read(data.join("vault.db-wal")).expect("wal");
    assert!(
        contains(&db_bytes, b"server2.example.com") || contains(&wal_bytes, b"server2.example.com")
    );
    assert!(contains(
        v.transcript.lock().expect("t").as_bytes(),
        credential_ids[2].as_bytes()
    ));
    for token in &tokens {
        v.assert_nowhere(token.as_bytes(), "a token");
    }
    // The recovery key and the master key itself are not in the data folder either.
    for path in std::fs::read_dir(&data).expect("dir") {
        let bytes = std::fs::read(path.expect("entry").path()).expect("read");
        assert!(!contains(&bytes, recovery.as_bytes()));
    }
    let master = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "agent-vault",
            "username",
            &v.keychain_account(),
        ])
        .output()
        .expect("secret-tool lookup");
    assert_eq!(
        master.stdout.len(),
        32,
        "the master key is 32 bytes in the keychain"
    );
    for path in std::fs::read_dir(&data).expect("dir") {
        let bytes = std::fs::read(path.expect("entry").path()).expect("read");
        assert!(
            !contains(&bytes, &master.stdout),
            "master key in the data folder"
        );
    }
    drop(holder);
}

#[test]
fn bad_input_gets_a_clear_error_and_loses_nothing() {
    let v = Vault::new();
    v.init();
    let vault = v.create_vault("Main", "development");
    let good = random_token("good");
    v.add(&vault, "https://ok.example.com/mcp", &good).ok();

    let long_name = "n".repeat(201);
    let cases: Vec<(Vec<&str>, String, i32, &str)> = vec![
        (
            vec!["credential", "add", "--vault", "Main", "--url", "not a url"],
            "t\n".into(),
            2,
            "not a web address",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "http://example.com/mcp",
            ],
            "t\n".into(),
            2,
            "https://",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://u:p@example.com/mcp",
            ],
            "t\n".into(),
            2,
            "user name",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp?x=1",
            ],
            "t\n".into(),
            2,
            "query",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp#f",
            ],
            "t\n".into(),
            2,
            "#",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
                "--protocol",
                "websocket",
            ],
            "t\n".into(),
            2,
            "Unknown protocol",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            "".into(),
            2,
            "empty",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            "abc\ndef\n".into(),
            2,
            "line break",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://example.com/mcp",
            ],
            format!("{}\n", "x".repeat(17 * 1024)),
            2,
            "16 KiB",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "HTTPS://OK.example.com:443/mcp",
            ],
            "other\n".into(),
            4,
            "already has a credential",
        ),
        (
            vec![
                "credential",
                "add",
                "--vault",
                "vlt_nope",
                "--url",
                "https://example.com/mcp",
            ],
            "t\n".into(),
            3,
            "No vault",
        ),
        (
            vec!["credential", "delete", "cred_nope", "--yes"],
            "".into(),
            3,
            "No credential",
        ),
        (
            vec!["credential", "replace", "cred_nope"],
            "t\n".into(),
            3,
            "No credential",
        ),
        (vec!["vault", "create", ""], "".into(), 2, "empty"),
        (vec!["vault", "create", &long_name], "".into(), 2, "200"),
        (
            vec!["vault", "create", "X", "--env", "nowhere"],
            "".into(),
            3,
            "environment",
        ),
        (vec!["vault", "delete", "Main"], "".into(), 2, "--yes"),
        (vec!["vault", "rename", "Main", " "], "".into(), 2, "empty"),
        (
            vec!["env", "create", "two words"],
            "".into(),
            2,
            "letters, digits",
        ),
        (
            vec!["env", "create", "development"],
            "".into(),
            4,
            "already exists",
        ),
    ];
    for (args, stdin, code, message) in &cases {
        let run = v.run(args, stdin);
        assert_eq!(run.code, *code, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(message),
            "{args:?}: expected {message:?} in {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
    }
    // A token is never an argument: there is no flag that takes one.
    assert_eq!(
        v.run(
            &[
                "credential",
                "add",
                "--vault",
                "Main",
                "--url",
                "https://e.example.com/",
                "--token",
                "x"
            ],
            ""
        )
        .code,
        2
    );

    let sql = "Robert'); DROP TABLE vaults;--";
    let id = v.create_vault(sql, "development");
    let shown = v.run(&["--json", "vault", "show", &id], "").ok().json();
    assert_eq!(shown["vault"]["display_name"], sql);

    // Nothing was lost along the way.
    assert_eq!(v.vault_count(), 2);
    let creds = v
        .run(&["--json", "credential", "list", "--vault", "Main"], "")
        .ok()
        .json();
    assert_eq!(creds.as_array().expect("array").len(), 1);
    v.run(&["credential", "check"], "").ok();
    v.assert_nowhere(good.as_bytes(), "the token");
}

#[test]
fn tampered_ciphertext_is_reported_by_credential_id() {
    let v = Vault::new();
    v.init();
    let vault = v.create_vault("T", "development");
    let cred = v
        .add(&vault, "https://t.example.com/mcp", &random_token("t"))
        .ok()
        .json();
    let id = cred["id"].as_str().expect("id");
    let conn = rusqlite::Connection::open(v.data().join("vault.db")).expect("db");
    let mut sealed: Vec<u8> = conn
        .query_row(
            "SELECT sealed_token FROM credentials WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("row");
    let last = sealed.len() - 1;
    sealed[last] ^= 0x40;
    conn.execute(
        "UPDATE credentials SET sealed_token = ?1 WHERE id = ?2",
        rusqlite::params![sealed, id],
    )
    .expect("tamper");
    drop(conn);
    let run = v.run(&["credential", "check"], "").fails_with(7, id);
    assert!(run.stdout.contains("DAMAGED"));
    assert!(run.stderr.contains("credential replace"));
    v.run(
        &["credential", "replace", id],
        &format!("{}\n", random_token("fixed")),
    )
    .ok();
    v.run(&["credential", "check"], "").ok();
}

#[test]
fn database_from_a_newer_version_is_refused_untouched() {
    let v = Vault::new();
    v.init();
    v.create_vault("Keep", "development");
    let db = v.data().join("vault.db");
    let conn = rusqlite::Connection::open(&db).expect("db");
    conn.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
        .expect("future");
    drop(conn);
    v.run(&["vault", "list"], "").fails_with(8, "newer version");
    let conn = rusqlite::Connection::open(&db).expect("db");
    let vaults: i64 = conn
        .query_row("SELECT COUNT(*) FROM vaults", [], |r| r.get(0))
        .expect("count");
    assert_eq!(vaults, 1);
}

#[test]
fn without_a_secret_service_the_user_is_told_and_can_use_a_passphrase() {
    let mut v = Vault::new();
    v.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        format!("unix:path={}/no-bus", v.dir.path().display()),
    ));
    let run = v.run(&["init"], "").fails_with(5, "could not be reached");
    assert!(run.stderr.contains("init --passphrase"));
    let status = v.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["keychain"]["state"], "unavailable");
    assert_eq!(status["initialized"], false);

    v.extra_env.push((
        "AGENT_VAULT_PASSPHRASE".into(),
        "a long enough passphrase".into(),
    ));
    let recovery = v.run(&["--json", "init", "--passphrase"], "").ok().json();
    assert!(recovery["recovery_key"].is_string());
    let vault = v.create_vault("NoKeychain", "development");
    let token = random_token("nokeychain");
    v.add(&vault, "https://n.example.com/mcp", &token).ok();
    v.run(&["credential", "check"], "").ok();

    v.extra_env.pop();
    v.run(&["credential", "check"], "")
        .fails_with(6, "passphrase");
    v.extra_env
        .push(("AGENT_VAULT_PASSPHRASE".into(), "not the passphrase".into()));
    v.run(&["credential", "check"], "")
        .fails_with(6, "not correct");
    v.assert_nowhere(token.as_bytes(), "the token");
    v.assert_nowhere(b"a long enough passphrase", "the passphrase");
}

/// Locking the collection would disturb the other tests, so this one gets its
/// own private Secret Service.
#[test]
fn locked_keychain_gets_a_clear_error() {
    require_secret_service();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-secret-service.sh");
    let inner = format!(
        r#"set -u
"{BIN}" --data-dir "$1" init >/dev/null || exit 90
dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets \
    org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null || exit 91
"{BIN}" --data-dir "$1" credential check
echo "exit=$?"
"{BIN}" --data-dir "$1" --json status"#
    );
    let output = Command::new(script)
        .args(["bash", "-c", &inner, "locked"])
        .arg(dir.path().join("data"))
        .env_remove("AGENT_VAULT_KEYRING_SESSION")
        .output()
        .expect("nested secret service");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("exit=5"), "{stdout}\n{stderr}");
    assert!(stderr.contains("keychain is locked"), "{stderr}");
    assert!(stdout.contains(r#""state": "locked""#), "{stdout}");
}

#[test]
fn killed_mid_write_keeps_committed_data_and_a_sound_database() {
    let v = Vault::new();
    v.init();
    let vault = v.create_vault("Crash", "development");
    let mut committed_vaults = Vec::new();
    let mut committed_urls = Vec::new();
    for i in 0..40u64 {
        let name = format!("crash-{i}");
        let url = format!("https://crash{i}.example.com/mcp");
        let mut child = if i % 2 == 0 {
            v.command(&["vault", "create", &name])
        } else {
            v.command(&["credential", "add", "--vault", &vault, "--url", &url])
        }
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(format!("{}\n", random_token("crash")).as_bytes());
        drop(stdin);
        // Spread the kills over the whole run of the command (it takes ~50–150 ms).
        std::thread::sleep(Duration::from_millis((i * 37) % 150));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().expect("wait");
        if status.success() {
            if i % 2 == 0 {
                committed_vaults.push(name);
            } else {
                committed_urls.push(url);
            }
        }
    }
    let conn = rusqlite::Connection::open(v.data().join("vault.db")).expect("db");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    drop(conn);
    let names: Vec<String> = v
        .run(&["--json", "vault", "list"], "")
        .ok()
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|vault| vault["display_name"].as_str().expect("name").to_string())
        .collect();
    for name in &committed_vaults {
        assert!(names.contains(name), "committed vault {name} lost");
    }
    let urls = v
        .run(&["--json", "credential", "list", "--vault", &vault], "")
        .ok()
        .stdout;
    for url in &committed_urls {
        assert!(
            urls.contains(url.as_str()),
            "committed credential {url} lost"
        );
    }
    // Every stored token still opens: no half-written ciphertext.
    v.run(&["credential", "check"], "").ok();
    eprintln!(
        "kill -9 loop: {} vault creates and {} credential adds committed before the kill",
        committed_vaults.len(),
        committed_urls.len()
    );
}
