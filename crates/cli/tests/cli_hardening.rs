//! The CLI cannot be read by another process of the same user: an agent
//! running as you (or anything else) gets no `/proc/<pid>/environ` (nor
//! `mem`) of a Keybearer process, where the passphrase or a token could be.
//! Needs root to run both sides as another user (CI runs as root); a
//! positive control proves the same read works on an ordinary process.

#![cfg(target_os = "linux")]
#![allow(clippy::print_stderr)] // says when it cannot run (not root)

mod support;

use std::os::unix::fs::chown;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::BIN;

const NOBODY: &str = "65534";

fn as_nobody(program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command.args([
        "--reuid",
        NOBODY,
        "--regid",
        NOBODY,
        "--clear-groups",
        "--",
        program,
    ]);
    command
}

/// What a same-user reader gets from `/proc/<pid>/environ`.
fn read_environ_as_nobody(pid: u32) -> Result<String, String> {
    let output = as_nobody("cat")
        .arg(format!("/proc/{pid}/environ"))
        .output()
        .expect("setpriv cat");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn wait_until_running_as_nobody(child: &Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
        // setpriv has exec'd the program once the process runs as nobody
        // under the program's own name.
        if uid_line.contains(NOBODY) && !status.contains("Name:\tsetpriv") {
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        assert!(Instant::now() < deadline, "the process never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn another_process_of_the_same_user_cannot_read_the_cli() {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let is_root = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .is_some_and(|line| line.split_whitespace().nth(2) == Some("0"));
    if !is_root {
        eprintln!("skipped: running both sides as another user needs root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data");
    chown(&data, Some(65534), Some(65534)).expect("chown");
    let marker = "KEYBEARER_PASSPHRASE=marker-passphrase-7c1e";

    // Positive control: an ordinary process of that user is readable.
    let mut ordinary = as_nobody("sleep")
        .arg("30")
        .env("MARKER", marker)
        .spawn()
        .expect("sleep");
    wait_until_running_as_nobody(&ordinary);
    let seen = read_environ_as_nobody(ordinary.id());
    ordinary.kill().expect("kill");
    ordinary.wait().expect("reap");
    assert!(
        seen.as_deref().is_ok_and(|env| env.contains(marker)),
        "the control read works: {:?}",
        seen.map(|env| env.contains(marker))
    );

    // The CLI, waiting for a recovery key on its standard input.
    let mut cli = as_nobody(BIN)
        .args(["--data-dir", &data.to_string_lossy(), "recover"])
        .env("KEYBEARER_PASSPHRASE", "marker-passphrase-7c1e")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("keybearer");
    wait_until_running_as_nobody(&cli);
    let seen = read_environ_as_nobody(cli.id());
    drop(cli.stdin.take());
    cli.wait().expect("reap");
    assert!(
        seen.is_err(),
        "the CLI's environment was readable: {seen:?}"
    );
}
