//! `keybearer` when things break: tampered data, a newer database, no or a
//! locked Secret Service, a writer killed mid-write.

#![allow(clippy::print_stderr)]

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

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
        "KEYBEARER_PASSPHRASE".into(),
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
        .push(("KEYBEARER_PASSPHRASE".into(), "not the passphrase".into()));
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
        .env_remove("KEYBEARER_KEYRING_SESSION")
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
            // All said, so the command goes straight to the write.
            v.command(&[
                "credential",
                "add",
                "--vault",
                &vault,
                "--url",
                &url,
                "--protocol",
                "streamable_http",
                "--token",
            ])
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
