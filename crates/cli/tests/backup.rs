//! Moving to a new computer (docs/architecture.md, "Backups"): `keybearer
//! backup create` on one computer — its own data folder, app settings and
//! the tests' private keychain — and `keybearer backup restore` on another,
//! with a second private Secret Service of its own (`support::keychain`).
//! Then the app connection's entries are written there (`apps sync`) and the
//! official Python SDK client reaches real servers through the bridge with
//! the restored credentials: a bearer token, two headers and an OAuth grant
//! (whose refresh token and client secret travel too). The backup file
//! holds none of the secrets in the clear.
//!
//! And what must change nothing: a wrong key, a file cut short at several
//! points, a flipped byte in the header and in the body, a file altered with
//! its checksum made again, one from a newer Keybearer, a restore over
//! vaults without `--merge`; in a folder with vaults the data folder stays
//! byte for byte the same, in a new one nothing is set up, and no keychain
//! gains or loses an entry.

#![cfg(unix)]

mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};
use support::apps::{claude_code_entries_in, entry_for, python_client_with};
use support::keychain::{has_account, stored_key, SecretService};
use support::session::{sha256_hex, start_mcp_server, start_peer_with_headers, token};
use support::{require_secret_service, Run, BIN};

/// One computer: a data folder, a home for the apps' settings, and which
/// keychain it has (none given: the tests' own).
struct Computer {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    transcript: RefCell<String>,
}

impl Computer {
    fn new(env: Vec<(String, String)>) -> Self {
        require_secret_service();
        let computer = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            env,
            transcript: RefCell::new(String::new()),
        };
        std::fs::create_dir_all(computer.home()).expect("home");
        computer
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--data-dir")
            .arg(self.data())
            .args(args)
            .env("HOME", self.home())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("KEYBEARER_PASSPHRASE");
        for (key, value) in &self.env {
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
            .expect("spawn keybearer");
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        let output = child.wait_with_output().expect("wait");
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let mut transcript = self.transcript.borrow_mut();
        transcript.push_str(&run.stdout);
        transcript.push_str(&run.stderr);
        run
    }

    fn init(&self) -> String {
        self.run(&["--json", "init"], "").ok().json()["recovery_key"]
            .as_str()
            .expect("recovery key")
            .to_string()
    }

    fn status(&self) -> serde_json::Value {
        self.run(&["--json", "status"], "").ok().json()
    }

    /// Every file of the data folder but the log, byte for byte.
    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(self.data())
            .expect("data folder")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.is_file() && path.extension().is_none_or(|e| e != "log"))
            .map(|path| {
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                (name, std::fs::read(&path).expect("read"))
            })
            .collect()
    }

    /// Fails if `secret` is in any file of the data folder or anything printed.
    fn assert_nowhere(&self, secret: &str) {
        for entry in std::fs::read_dir(self.data()).expect("data folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read");
                assert!(
                    !support::contains(&bytes, secret.as_bytes()),
                    "a secret in {}",
                    path.display()
                );
            }
        }
        assert!(
            !self.transcript.borrow().contains(secret),
            "a secret in the CLI's output"
        );
    }
}

/// The JSON of a restore that set a computer up: the recovery key's line,
/// then the report.
fn restored(run: &Run) -> (String, serde_json::Value) {
    let (first, rest) = run.stdout.split_once('\n').expect("two parts");
    let key: serde_json::Value = serde_json::from_str(first).expect("key line");
    let report = serde_json::from_str(rest).unwrap_or_else(|e| panic!("{e}: {rest}"));
    (
        key["recovery_key"].as_str().expect("key").to_string(),
        report,
    )
}

#[test]
fn a_backup_moves_every_credential_to_another_computer_and_keychain() {
    // The old computer: a bearer token, two headers, an OAuth grant.
    let old = Computer::new(Vec::new());
    let recovery = old.init();
    let bearer = token("bearer");
    let bearer_server = start_mcp_server("streamable_http", &bearer);
    let (key, org) = (token("apikey"), token("org"));
    let headers = [("X-API-Key", key.as_str()), ("X-Org", org.as_str())];
    let header_server = start_peer_with_headers(&headers);
    let access = token("oauth-access");
    let (refresh, client_secret) = (token("oauth-refresh"), token("client-secret"));
    let oauth_server = start_mcp_server("sse", &access);
    old.run(&["vault", "create", "Work"], "").ok();
    old.run(&["env", "create", "qa"], "").ok();
    old.run(&["vault", "create", "Checks", "--env", "qa"], "")
        .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &bearer_server.url,
        ],
        &format!("{bearer}\n"),
    )
    .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &header_server.url,
            "--header",
            "X-API-Key",
            "--header",
            "X-Org",
        ],
        &format!("{key}\n{org}\n"),
    )
    .ok();
    let grant = serde_json::json!({
        "type": "mcp_oauth",
        "access_token": access,
        "expires_at": "2099-01-01T00:00:00Z",
        "refresh": {
            "client_id": "keybearer-test",
            "refresh_token": refresh,
            "token_endpoint": "https://auth.example.com/token",
            "token_endpoint_auth": {"type": "client_secret_post", "client_secret": client_secret},
        },
    });
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &oauth_server.url,
            "--protocol",
            "sse",
            "--from-json",
        ],
        &grant.to_string(),
    )
    .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Checks",
            "--url",
            "https://qa.example.com/mcp",
        ],
        &format!("{}\n", token("qa")),
    )
    .ok();
    old.run(&["apps", "connect", "claude-code", "--vault", "Work"], "")
        .ok();

    let file = old.dir.path().join("move.kbbackup");
    let file_arg = file.to_str().expect("path");
    // A key that is not the current recovery key seals nothing.
    old.run(
        &["backup", "create", file_arg],
        "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH\n",
    )
    .fails_with(6, "not the current recovery key");
    assert!(!file.exists());
    let made = old
        .run(
            &["--json", "backup", "create", file_arg],
            &format!("{recovery}\n"),
        )
        .ok()
        .json();
    assert_eq!(made["vaults"], 2, "{made}");
    assert_eq!(made["credentials"], 4, "{made}");
    assert_eq!(made["connections"], 1, "{made}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let bytes = std::fs::read(&file).expect("read");
    let secrets = [
        bearer.as_str(),
        key.as_str(),
        org.as_str(),
        access.as_str(),
        refresh.as_str(),
        client_secret.as_str(),
        recovery.as_str(),
    ];
    for secret in secrets {
        assert!(
            !support::contains(&bytes, secret.as_bytes()),
            "a secret in the clear in the backup file"
        );
    }
    // Nor in any other encoding a careless writer would use.
    for secret in &secrets[..6] {
        let base64 = data_encoding::BASE64.encode(secret.as_bytes());
        assert!(!support::contains(&bytes, &base64.as_bytes()[..16]));
    }
    // An existing file is kept unless --force.
    old.run(&["backup", "create", file_arg], &format!("{recovery}\n"))
        .fails_with(20, "already exists");
    assert_eq!(std::fs::read(&file).expect("read"), bytes);

    // The new computer: another data folder, another keychain.
    let keychain = SecretService::start();
    let new = Computer::new(keychain.env());
    let run = new
        .run(
            &["--json", "backup", "restore", file_arg],
            &format!("{recovery}\n"),
        )
        .ok();
    let (new_recovery, report) = restored(&run);
    assert_ne!(
        new_recovery, recovery,
        "this computer has its own recovery key"
    );
    assert_eq!(report["vaults"], 2, "{report}");
    assert_eq!(report["credentials"], 4, "{report}");
    assert_eq!(report["new_key"], true);
    let connection = &report["connections"][0];
    assert_eq!(connection["app"], "claude-code");
    let config_path = new.home().join(".claude.json");
    assert_eq!(
        connection["config_path"],
        config_path.to_str().expect("path"),
        "this computer's settings file, not the old one's"
    );

    let status = new.status();
    assert_eq!(status["initialized"], true);
    let account = status["keychain_account"].as_str().expect("account");
    assert!(
        has_account(&keychain.env(), account),
        "the key is in the new keychain"
    );
    assert!(!has_account(&[], account), "and not in the old one");
    let old_account = old.status()["keychain_account"]
        .as_str()
        .expect("account")
        .to_string();
    assert!(!has_account(&keychain.env(), &old_account));
    new.run(&["credential", "check"], "").ok();

    // The apps' entries, written on this computer, reach every server.
    let synced = new.run(&["apps", "sync"], "").ok();
    assert!(synced.code == 0, "{}", synced.stderr);
    let entries = claude_code_entries_in(&new.home());
    assert_eq!(entries.len(), 3, "{entries:?}");
    let lines = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut outputs = Vec::new();
    for (server, expected) in [
        (&bearer_server.url, sha256_hex(&bearer)),
        (&header_server.url, sha256_hex(&lines)),
        (&oauth_server.url, sha256_hex(&access)),
    ] {
        let entry = entry_for(&entries, server);
        assert!(entry
            .args
            .iter()
            .any(|a| a == connection["id"].as_str().expect("id")));
        let run = python_client_with(entry, &["--tool", "whoami"], &keychain.env());
        assert!(run.ok, "{server}: {} {}", run.answer, run.stderr);
        assert_eq!(run.answer["result"], expected, "{server}");
        outputs.push(run.answer.to_string() + &run.stderr);
    }

    // The restore is recorded; the secrets are nowhere in the clear.
    let events = new.run(&["--json", "events"], "").ok().stdout;
    assert!(events.contains("backup.restored"), "{events}");
    assert!(old
        .run(&["--json", "events"], "")
        .ok()
        .stdout
        .contains("backup.created"));
    let settings = std::fs::read_to_string(&config_path).expect("settings");
    // (The recovery keys are printed, once, by design.)
    for secret in &secrets[..6] {
        new.assert_nowhere(secret);
        old.assert_nowhere(secret);
        assert!(!settings.contains(secret));
        assert!(outputs.iter().all(|output| !output.contains(secret)));
    }
}

/// A copy of `bytes` with its checksum made again (an alteration on purpose).
fn resummed(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() - 32);
    let sum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn refused_restores_change_nothing() {
    let old = Computer::new(Vec::new());
    let recovery = old.init();
    old.run(&["vault", "create", "Work"], "").ok();
    old.run(&["vault", "create", "Other"], "").ok();
    let secret = token("kept");
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Other",
            "--url",
            "https://o.example.com/mcp",
        ],
        &format!("{secret}\n"),
    )
    .ok();
    let file = old.dir.path().join("b.kbbackup");
    old.run(
        &["backup", "create", file.to_str().expect("path")],
        &format!("{recovery}\n"),
    )
    .ok();
    let good = std::fs::read(&file).expect("read");
    let dir = old.dir.path();

    // Bad files, each with what it must say.
    let mut bad: Vec<(String, i32, &str)> = Vec::new();
    for cut in [
        0,
        5,
        9,
        50,
        83,
        good.len() / 2,
        good.len() - 33,
        good.len() - 1,
    ] {
        let name = format!("cut-{cut}.kbbackup");
        let message = if cut < 8 {
            "not a Keybearer backup"
        } else {
            "damaged"
        };
        bad.push((write(dir, &name, &good[..cut]), 18, message));
    }
    for (at, name) in [(9, "version"), (12, "params"), (30, "salt"), (45, "nonce")] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x40;
        bad.push((
            write(dir, &format!("flip-{name}.kbbackup"), &flipped),
            18,
            "damaged",
        ));
    }
    let mut body = good.clone();
    body[good.len() / 2] ^= 0x01;
    bad.push((write(dir, "flip-body.kbbackup", &body), 18, "damaged"));
    bad.push((
        write(dir, "altered.kbbackup", &resummed(body)),
        18,
        "altered",
    ));
    let mut header = good.clone();
    header[60] ^= 0x01; // the key check: this key no longer passes it
    bad.push((
        write(dir, "altered-check.kbbackup", &resummed(header)),
        6,
        "does not open",
    ));
    let mut newer = good.clone();
    newer[8..10].copy_from_slice(&2u16.to_be_bytes());
    bad.push((
        write(dir, "newer.kbbackup", &resummed(newer)),
        19,
        "newer version",
    ));
    let good_path = file.to_string_lossy().into_owned();
    let wrong = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH";

    // A computer with vaults of its own (and the tests' keychain).
    let here = Computer::new(Vec::new());
    here.init();
    here.run(&["vault", "create", "Work"], "").ok();
    let own = token("own");
    here.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            "https://w.example.com/mcp",
        ],
        &format!("{own}\n"),
    )
    .ok();
    let files = here.files();
    let account = here.status()["keychain_account"]
        .as_str()
        .expect("account")
        .to_string();
    let key = stored_key(&[], &account);
    assert!(key.is_some());
    let unchanged = |what: &str| {
        assert!(here.files() == files, "{what}: the data folder changed");
        assert!(
            stored_key(&[], &account) == key,
            "{what}: the keychain changed"
        );
    };
    here.run(&["backup", "restore", &good_path], &format!("{recovery}\n"))
        .fails_with(21, "--merge");
    unchanged("no --merge");
    here.run(
        &["backup", "restore", "--merge", &good_path],
        &format!("{wrong}\n"),
    )
    .fails_with(6, "does not open this backup");
    unchanged("a wrong key");
    for (path, code, message) in &bad {
        here.run(
            &["backup", "restore", "--merge", path],
            &format!("{recovery}\n"),
        )
        .fails_with(*code, message);
        unchanged(path);
    }

    // A new computer: nothing is set up, no key is stored.
    let fresh = Computer::new(Vec::new());
    fresh
        .run(&["backup", "restore", &good_path], &format!("{wrong}\n"))
        .fails_with(6, "does not open this backup");
    for (path, code, message) in &bad {
        fresh
            .run(&["backup", "restore", path], &format!("{recovery}\n"))
            .fails_with(*code, message);
    }
    let status = fresh.status();
    assert_eq!(status["initialized"], false, "{status}");
    assert_eq!(status["vaults"], 0);
    let fresh_account = status["keychain_account"].as_str().expect("account");
    assert!(!has_account(&[], fresh_account), "no key was stored");

    // Merging: the name taken here is left out and listed, the rest comes,
    // and nothing of this computer's changes.
    let merged = here
        .run(
            &["--json", "backup", "restore", "--merge", &good_path],
            &format!("{recovery}\n"),
        )
        .ok()
        .json();
    assert_eq!(merged["vaults"], 1, "{merged}");
    assert_eq!(merged["credentials"], 1, "{merged}");
    assert_eq!(merged["new_key"], false);
    assert_eq!(merged["skipped_vaults"][0]["name"], "Work", "{merged}");
    let listed = here
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(listed.as_array().expect("list").len(), 1);
    assert_eq!(listed[0]["mcp_server_url"], "https://w.example.com/mcp");
    here.run(&["credential", "check"], "").ok();
    here.assert_nowhere(&own);
    here.assert_nowhere(&secret);
}

#[test]
fn a_passphrase_backup_opens_with_its_passphrase_only() {
    let old = Computer::new(Vec::new());
    old.init();
    old.run(&["vault", "create", "Work"], "").ok();
    let secret = token("pass");
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            "https://p.example.com/mcp",
        ],
        &format!("{secret}\n"),
    )
    .ok();
    let file = old.dir.path().join("p.kbbackup");
    let path = file.to_str().expect("path");
    old.run(&["backup", "create", path, "--passphrase"], "short\n")
        .fails_with(2, "at least 10 characters");
    assert!(!file.exists());
    let passphrase = "four unrelated words here";
    let made = old
        .run(
            &["--json", "backup", "create", path, "--passphrase"],
            &format!("{passphrase}\n"),
        )
        .ok()
        .json();
    assert_eq!(made["sealed_with"], "passphrase");
    let bytes = std::fs::read(&file).expect("read");
    assert!(!support::contains(&bytes, secret.as_bytes()));
    assert!(!support::contains(&bytes, passphrase.as_bytes()));

    let new = Computer::new(Vec::new());
    new.run(&["backup", "restore", path], "not the passphrase at all\n")
        .fails_with(6, "passphrase does not open");
    assert_eq!(new.status()["initialized"], false);
    let run = new
        .run(&["backup", "restore", path], &format!("{passphrase}\n"))
        .ok();
    assert!(
        run.stdout
            .contains("Restored 1 vault(s) and 1 credential(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("still opens with its passphrase"),
        "{}",
        run.stdout
    );
    new.run(&["credential", "check"], "").ok();
    new.assert_nowhere(&secret);
    new.assert_nowhere(passphrase);
}
