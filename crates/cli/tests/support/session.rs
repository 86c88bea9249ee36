//! Shared by the `keybearer session …` test files: a set-up data folder
//! (`Home`) whose CLI output is all kept for the leak checks, shell-script
//! stand-ins for the agents, and real MCP servers from the official Python SDK.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // each test file uses its own part
pub use super::peers::{
    repo_root, sha256_hex, start_endpoint_server, start_mcp_server, start_mcp_server_reading,
    start_peer_with_headers, start_python_server, start_ts_server, venv_python, McpServer,
};
use super::{require_secret_service, Run, BIN};

pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Home {
    pub dir: tempfile::TempDir,
    /// Everything the CLI printed, scanned for tokens at the end.
    pub transcript: std::cell::RefCell<String>,
}

impl Home {
    pub fn new() -> Self {
        require_secret_service();
        let home = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            transcript: std::cell::RefCell::new(String::new()),
        };
        home.run(&["init"], "").code(0);
        home
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CLI with this home's data folder, run from this home (a
    /// session's default working folder, the one a sandboxed agent may
    /// change: the agents here write their reports into it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--data-dir")
            .arg(self.path("data"))
            .args(args)
            .current_dir(self.dir.path());
        command
    }

    pub fn run_with(&self, mut command: Command, stdin: &str) -> Run {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn_retrying_busy(&mut command);
        let _ = child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes());
        self.finish(child)
    }

    /// Waits for `child` and keeps what it printed for the leak checks.
    fn finish(&self, child: std::process::Child) -> Run {
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

    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with(self.command(args), stdin)
    }

    /// Answers yes to every direct-mode approval for this data folder, as a
    /// person at the desktop app's dialog would: the core's side of the
    /// approval socket, which the app runs (the dialog itself is covered by
    /// the e2e tests, the refusals by sessions_presence.rs). For tests of
    /// what direct mode does once approved.
    pub fn approve_direct_sessions(&self) {
        let listener = keybearer_session::ApprovalListener::bind(&self.path("data"))
            .expect("the approval socket");
        std::thread::spawn(move || {
            while let Ok(asked) = listener.next() {
                asked.answer(true);
            }
        });
    }

    /// Runs `command` without a controlling terminal (in a session of its
    /// own, through util-linux's `setsid`), as a script or a background
    /// agent would be.
    pub fn run_detached(&self, command: Command) -> Run {
        let mut detached = Command::new("setsid");
        detached.arg("--wait").arg(command.get_program());
        detached.args(command.get_args());
        if let Some(dir) = command.get_current_dir() {
            detached.current_dir(dir);
        }
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => detached.env(key, value),
                None => detached.env_remove(key),
            };
        }
        self.run_with(detached, "")
    }

    /// Runs `command` on a terminal of its own (a pseudo-terminal, its
    /// controlling terminal) and answers direct mode's question there:
    /// `CODE` types the code the question shows (a person's approval),
    /// anything else is typed as it is. Everything it printed is what the
    /// terminal showed, in `stderr`.
    pub fn run_approving(&self, command: Command, answer: &str) -> Run {
        use std::io::Read;
        let pair = portable_pty::native_pty_system()
            .openpty(portable_pty::PtySize {
                rows: 24,
                cols: 200,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut builder = portable_pty::CommandBuilder::new(command.get_program());
        builder.args(command.get_args());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => builder.env(key, value),
                None => builder.env_remove(key),
            }
        }
        builder.cwd(self.dir.path());
        let mut child = pair.slave.spawn_command(builder).expect("spawn in pty");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("reader");
        let mut writer = pair.master.take_writer().expect("writer");
        let answer = answer.to_string();
        let terminal = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut answered = false;
            let mut buffer = [0u8; 4096];
            // Ends with EIO once the command and everything it started closed the terminal.
            while let Ok(read) = reader.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                seen.extend_from_slice(&buffer[..read]);
                let shown = String::from_utf8_lossy(&seen).into_owned();
                if let (false, Some(code)) = (answered, shown_code(&shown)) {
                    answered = true;
                    let typed = if answer == "CODE" {
                        code
                    } else {
                        answer.clone()
                    };
                    writer
                        .write_all(format!("{typed}\r").as_bytes())
                        .expect("type the answer");
                    writer.flush().expect("flush");
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        let status = child.wait().expect("wait");
        drop(pair.master);
        let shown = terminal.join().expect("terminal reader");
        self.transcript.borrow_mut().push_str(&shown);
        Run {
            code: i32::try_from(status.exit_code()).unwrap_or(-1),
            stdout: String::new(),
            stderr: shown,
        }
    }

    pub fn vault(&self, name: &str, environment: &str) -> String {
        self.run(
            &["--json", "vault", "create", name, "--env", environment],
            "",
        )
        .code(0)
        .json()["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub fn add(&self, vault: &str, url: &str, protocol: &str, token: &str) {
        self.run(
            &[
                "credential",
                "add",
                "--vault",
                vault,
                "--url",
                url,
                "--protocol",
                protocol,
                // Nothing left to ask the server (credential_asks.rs does).
                "--token",
            ],
            &format!("{token}\n"),
        )
        .code(0);
    }

    /// An executable shell script; returns its path.
    pub fn script(&self, relative: &str, body: &str) -> String {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    /// A script that records its argv (one per line), env and working folder
    /// into `out/`, plus the MCP config when there is one, then exits `code`.
    pub fn reporting_agent(&self, relative: &str, code: i32) -> (String, PathBuf) {
        let out = self.path(&format!("{relative}.out"));
        std::fs::create_dir_all(&out).expect("out");
        let script = self.script(
            relative,
            &format!(
                r#"out='{}'
for arg in "$@"; do printf '%s\n' "$arg"; done > "$out/argv"
env > "$out/env"
pwd > "$out/pwd"
if [ -n "$KEYBEARER_MCP_CONFIG" ]; then cat "$KEYBEARER_MCP_CONFIG" > "$out/config"; fi
exit {code}"#,
                out.display()
            ),
        );
        (script, out)
    }

    pub fn assert_nowhere(&self, needle: &str) {
        for entry in std::fs::read_dir(self.path("data")).expect("data dir") {
            let path = entry.expect("entry").path();
            // Files only (the running app's approval socket cannot be read).
            if !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes()),
                "token found in {}",
                path.display()
            );
        }
        assert!(
            !self.transcript.borrow().contains(needle),
            "token found in CLI output"
        );
    }
}

/// The code direct mode's question asks to type ("Type XXXX to allow it").
pub fn shown_code(terminal: &str) -> Option<String> {
    let (before, _) = terminal.split_once(" to allow it")?;
    before
        .rsplit("Type ")
        .next()
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(str::to_string)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("tok_{label}_{nanos:x}")
}

pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Spawns `command`, again while the program is "busy": a program this
/// test binary just wrote (a copy of keybearer, a script) may still be open
/// for writing in a child another test thread forked meanwhile, until that
/// child's exec closes it (Linux's ETXTBSY race); it passes in moments.
pub fn spawn_retrying_busy(command: &mut Command) -> std::process::Child {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.expect("spawn"),
        }
    }
}
