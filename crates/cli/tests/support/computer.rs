//! One computer for the backup tests (`backup.rs`, `backup_refusals.rs`):
//! a data folder, a home for the apps' settings files, which keychain it
//! has (none given: the tests' own; else another private Secret Service,
//! `keychain.rs`), and a transcript of everything the CLI printed.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{contains, require_secret_service, Run, BIN};

/// One computer: a data folder, a home for the apps' settings, and which
/// keychain it has (none given: the tests' own).
pub struct Computer {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    transcript: RefCell<String>,
}

impl Computer {
    pub fn new(env: Vec<(String, String)>) -> Self {
        require_secret_service();
        let computer = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            env,
            transcript: RefCell::new(String::new()),
        };
        std::fs::create_dir_all(computer.home()).expect("home");
        computer
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn command(&self, args: &[&str]) -> Command {
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

    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
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

    pub fn init(&self) -> String {
        self.run(&["--json", "init"], "").ok().json()["recovery_key"]
            .as_str()
            .expect("recovery key")
            .to_string()
    }

    pub fn status(&self) -> serde_json::Value {
        self.run(&["--json", "status"], "").ok().json()
    }

    /// Every file of the data folder but the log, byte for byte.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
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

    /// Fails if `secret` is in any file of the data folder (the log too).
    pub fn assert_no_file_holds(&self, secret: &str) {
        for entry in std::fs::read_dir(self.data()).expect("data folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read");
                assert!(
                    !contains(&bytes, secret.as_bytes()),
                    "a secret in {}",
                    path.display()
                );
            }
        }
    }

    /// Fails if `secret` is in any file of the data folder or anything printed.
    pub fn assert_nowhere(&self, secret: &str) {
        for entry in std::fs::read_dir(self.data()).expect("data folder") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read");
                assert!(
                    !contains(&bytes, secret.as_bytes()),
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
pub fn restored(run: &Run) -> (String, serde_json::Value) {
    let (first, rest) = run.stdout.split_once('\n').expect("two parts");
    let key: serde_json::Value = serde_json::from_str(first).expect("key line");
    let report = serde_json::from_str(rest).unwrap_or_else(|e| panic!("{e}: {rest}"));
    (
        key["recovery_key"].as_str().expect("key").to_string(),
        report,
    )
}
