//! Shared by the CLI's test files: the real `keybearer` binary run against a
//! real Secret Service (started by `scripts/with-secret-service.sh`) and real
//! SQLite files. Every command's output is kept so the leak checks can scan
//! all of it for token bytes.

#![allow(dead_code)] // each test file uses its own part of it

#[cfg(unix)]
pub mod agents;
#[cfg(unix)]
pub mod apps;
#[cfg(unix)]
pub mod clients;
#[cfg(unix)]
pub mod computer;
#[cfg(unix)]
pub mod keychain;
#[cfg(unix)]
pub mod oauth;
pub mod peers;
#[path = "../../../vault/tests/support/registry_peer.rs"]
pub mod registry_peer;
#[cfg(unix)]
pub mod session;
#[cfg(unix)]
pub mod stub_model;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_keybearer");

pub fn require_secret_service() {
    assert_eq!(
        std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    /// Asserts the exit code, showing both outputs if it differs.
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn fails_with(self, code: i32, message_part: &str) -> Self {
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
pub struct Vault {
    pub dir: tempfile::TempDir,
    pub transcript: Mutex<String>,
    pub extra_env: Vec<(String, String)>,
}

impl Vault {
    pub fn new() -> Self {
        require_secret_service();
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            transcript: Mutex::new(String::new()),
            extra_env: Vec::new(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--data-dir").arg(self.data()).args(args);
        for (key, value) in &self.extra_env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn keybearer");
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

    pub fn init(&self) -> String {
        let run = self.run(&["--json", "init"], "").ok();
        run.json()["recovery_key"]
            .as_str()
            .expect("recovery key")
            .to_string()
    }

    pub fn create_vault(&self, name: &str, environment: &str) -> String {
        let run = self
            .run(
                &["--json", "vault", "create", name, "--env", environment],
                "",
            )
            .ok();
        run.json()["id"].as_str().expect("id").to_string()
    }

    pub fn add(&self, vault: &str, url: &str, token: &str) -> Run {
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

    pub fn keychain_account(&self) -> String {
        let status = self.run(&["--json", "status"], "").ok().json();
        status["keychain_account"]
            .as_str()
            .expect("account")
            .to_string()
    }

    pub fn wipe_keychain_entry(&self) {
        let account = self.keychain_account();
        let status = Command::new("secret-tool")
            .args(["clear", "service", "keybearer", "username", &account])
            .status()
            .expect("secret-tool");
        assert!(status.success());
    }

    pub fn vault_count(&self) -> usize {
        self.run(&["--json", "vault", "list"], "")
            .ok()
            .json()
            .as_array()
            .expect("array")
            .len()
    }

    /// Fails if `needle` occurs in any file of the data folder or in anything printed.
    pub fn assert_nowhere(&self, needle: &[u8], what: &str) {
        for entry in std::fs::read_dir(self.data()).expect("data dir") {
            let path = entry.expect("entry").path();
            // Files only (the running app's approval socket cannot be read).
            if !path.is_file() {
                continue;
            }
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

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

pub fn random_token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("tok_{label}_{nanos:x}_{}", std::process::id())
}
