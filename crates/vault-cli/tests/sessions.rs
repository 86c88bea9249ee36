//! `keybearer session …` end to end: the real binary, a real Secret Service
//! (started by `scripts/with-secret-service.sh`), shell-script stand-ins for
//! the agents that report what they were given, and a real pseudo-terminal
//! to check that an interactive agent owns the terminal.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_keybearer");
const DEADLINE: Duration = Duration::from_secs(60);

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

    fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

struct Home {
    dir: tempfile::TempDir,
    /// Everything the CLI printed, scanned for tokens at the end.
    transcript: std::cell::RefCell<String>,
}

impl Home {
    fn new() -> Self {
        assert_eq!(
            std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
            Ok("ready"),
            "these tests need a real Secret Service: run them with `make test` \
             (or scripts/with-secret-service.sh cargo test)"
        );
        let home = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            transcript: std::cell::RefCell::new(String::new()),
        };
        home.run(&["init"], "").code(0);
        home
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.arg("--data-dir").arg(self.path("data")).args(args);
        command
    }

    fn run_with(&self, mut command: Command, stdin: &str) -> Run {
        let mut child = command
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

    fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with(self.command(args), stdin)
    }

    fn vault(&self, name: &str, environment: &str) -> String {
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

    fn add(&self, vault: &str, url: &str, protocol: &str, token: &str) {
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
            ],
            &format!("{token}\n"),
        )
        .code(0);
    }

    /// An executable shell script; returns its path.
    fn script(&self, relative: &str, body: &str) -> String {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    /// A script that records its argv (one per line), env and working folder
    /// into `out/`, plus the MCP config when there is one, then exits `code`.
    fn reporting_agent(&self, relative: &str, code: i32) -> (String, PathBuf) {
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

    fn assert_nowhere(&self, needle: &str) {
        for entry in std::fs::read_dir(self.path("data")).expect("data dir") {
            let path = entry.expect("entry").path();
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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("tok_{label}_{nanos:x}")
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A real MCP server (official Python SDK) that accepts only `token`.
struct McpServer {
    url: String,
    child: std::process::Child,
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "run scripts/setup-mcp-venv.sh (make test does) first"
    );
    python
}

fn start_mcp_server(transport: &str, token: &str) -> McpServer {
    use std::io::BufRead;
    let mut child = Command::new(venv_python())
        .arg(repo_root().join("tests/mcp-peers/server.py"))
        .args(["--transport", transport, "--port", "0"])
        .env("MCP_TEST_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python MCP server");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("server URL");
    let announced: Value = serde_json::from_str(&line).expect("json");
    McpServer {
        url: announced["url"].as_str().expect("url").to_string(),
        child,
    }
}

fn sha256_hex(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Proxy mode, the default: the official MCP client, run as a custom agent
/// with the generated config (one streamable HTTP and one SSE server), calls
/// a tool through the loopback proxy on the first of them (both transports
/// through the proxy are covered in vault-core's proxy tests). The server
/// sees the real token; the agent's argv,
/// environment and config only ever hold the session secret; once the
/// session ends its listeners refuse connections.
#[test]
fn proxy_mode_lets_the_official_client_call_tools_without_seeing_the_token() {
    let h = Home::new();
    let secret = token("proxied");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);

    let out = h.path("agent.out");
    std::fs::create_dir_all(&out).expect("out");
    let client = repo_root().join("tests/mcp-peers/client.py");
    let agent = h.script(
        "agent.sh",
        &format!(
            r#"out='{out}'
for arg in "$@"; do printf '%s\n' "$arg"; done > "$out/argv"
env > "$out/env"
cat "$KEYBEARER_MCP_CONFIG" > "$out/config"
'{python}' '{client}' --config "$KEYBEARER_MCP_CONFIG" --tool whoami > "$out/result" || exit 3"#,
            out = out.display(),
            python = venv_python().display(),
            client = client.display(),
        ),
    );
    let run = h
        .run(
            &[
                "session",
                "start",
                "--vault",
                "Work",
                "--agent",
                "custom",
                "--",
                &agent,
                "{mcp_config}",
            ],
            "",
        )
        .code(0);
    assert!(run.stderr.contains("proxy mode"), "{}", run.stderr);

    let result: Value = serde_json::from_str(&read(&out.join("result"))).expect("client JSON");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        result["result"],
        sha256_hex(&secret).as_str(),
        "the server saw the real token"
    );

    let config: Value = serde_json::from_str(&read(&out.join("config"))).expect("config");
    let servers = config["mcpServers"].as_object().expect("servers");
    assert_eq!(servers.len(), 2);
    let mut listeners = Vec::new();
    for server in servers.values() {
        let url = server["url"].as_str().expect("url");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_ne!(url, http.url);
        assert_ne!(url, sse.url);
        let authorization = server["headers"]["Authorization"].as_str().expect("header");
        assert!(authorization.starts_with("Bearer ") && !authorization.contains(&secret));
        listeners.push(
            url.trim_start_matches("http://")
                .split('/')
                .next()
                .expect("addr")
                .to_string(),
        );
    }
    for file in ["argv", "env", "config"] {
        assert!(
            !read(&out.join(file)).contains(&secret),
            "token in the agent's {file}"
        );
    }
    for listener in listeners {
        assert!(
            std::net::TcpStream::connect(&listener).is_err(),
            "listener {listener} still open after the session"
        );
    }
    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["injection"], "proxy");
    h.assert_nowhere(&secret);
}

#[test]
fn a_direct_custom_session_runs_in_the_terminal_and_returns_the_agents_exit_code() {
    let h = Home::new();
    let vault = h.vault("Work", "staging");
    let secret = token("custom");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &secret,
    );
    let (agent, out) = h.reporting_agent("agent.sh", 5);
    let folder = h.path("project");
    std::fs::create_dir(&folder).expect("folder");
    let mut command = h.command(&[
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "custom",
        "--dir",
        &folder.to_string_lossy(),
        "--direct",
        "--",
        &agent,
        "--mcp",
        "{mcp_config}",
    ]);
    // Keybearer's own secrets in its environment are not passed on.
    command
        .env("KEYBEARER_PASSPHRASE", "outer-passphrase")
        .env("KEYBEARER_TOKEN_OUTER", "outer-token")
        .env("UNRELATED_SETTING", "kept");
    let run = h.run_with(command, "").code(5);
    assert!(run.stderr.contains("direct mode"), "{}", run.stderr);
    assert!(run.stderr.contains("exited (5)"), "{}", run.stderr);

    let argv = read(&out.join("argv"));
    let lines: Vec<&str> = argv.lines().collect();
    assert_eq!(lines[0], "--mcp");
    let config_path = PathBuf::from(lines[1]);
    assert!(!argv.contains(&secret), "never in argv");
    let env = read(&out.join("env"));
    assert!(!env.contains(&secret));
    assert!(!env.contains("outer-passphrase") && !env.contains("outer-token"));
    assert!(env.contains("UNRELATED_SETTING=kept"));
    let config: Value = serde_json::from_str(&read(&out.join("config"))).expect("json");
    assert_eq!(
        config["mcpServers"]["mcp-example-com-mcp"]["headers"]["Authorization"],
        format!("Bearer {secret}").as_str()
    );
    assert_eq!(
        read(&out.join("pwd")).trim(),
        std::fs::canonicalize(&folder)
            .expect("canonical")
            .to_string_lossy()
    );
    assert!(!config_path.exists() && !config_path.parent().expect("dir").exists());

    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    let session = &listed[0];
    assert_eq!(session["state"], "exited");
    assert_eq!(session["code"], 5);
    assert_eq!(session["agent"], "custom");
    assert_eq!(session["injection"], "direct");
    assert_eq!(session["environment"], "staging");
    assert_eq!(session["vault_ids"][0], vault.as_str());
    let id = session["id"].as_str().expect("id");
    let human = h.run(&["session", "list"], "").code(0);
    assert!(human.stdout.contains(id) && human.stdout.contains("exited (5)"));
    let events = h.run(&["--json", "events"], "").code(0).json();
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["session_id"] == id)
        .map(|event| event["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["session.exited", "session.started", "credential.used"]
    );
    h.assert_nowhere(&secret);
}

#[test]
fn claude_and_codex_presets_get_their_configuration_and_no_token_in_argv() {
    let h = Home::new();
    let vault = h.vault("Tools", "development");
    let secret = token("preset");
    h.add(
        &vault,
        "https://api.example.com/mcp/",
        "streamable_http",
        &secret,
    );
    let bin = h.path("bin");
    let (_, claude_out) = h.reporting_agent("bin/claude", 0);
    let (_, codex_out) = h.reporting_agent("bin/codex", 0);

    let mut command = h.command(&[
        "session",
        "start",
        "--vault",
        "Tools",
        "--agent",
        "claude",
        "--direct",
        "--",
        "--verbose",
    ]);
    command.env("PATH", path_with(&bin));
    h.run_with(command, "").code(0);
    let argv = read(&claude_out.join("argv"));
    let lines: Vec<&str> = argv.lines().collect();
    assert_eq!(lines[0], "--mcp-config");
    assert_eq!(lines[2], "--verbose");
    assert!(!argv.contains(&secret));
    let config: Value = serde_json::from_str(&read(&claude_out.join("config"))).expect("json");
    assert_eq!(
        config,
        serde_json::json!({"mcpServers": {"api-example-com-mcp": {
            "type": "http",
            "url": "https://api.example.com/mcp/",
            "headers": {"Authorization": format!("Bearer {secret}")},
        }}})
    );

    let mut command = h.command(&[
        "session", "start", "--vault", "Tools", "--agent", "codex", "--direct", "--", "exec", "hi",
    ]);
    command.env("PATH", path_with(&bin));
    h.run_with(command, "").code(0);
    let argv = read(&codex_out.join("argv"));
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "-c",
            "mcp_servers.api-example-com-mcp.url=\"https://api.example.com/mcp/\"",
            "-c",
            "mcp_servers.api-example-com-mcp.bearer_token_env_var=\"KEYBEARER_TOKEN_API_EXAMPLE_COM_MCP\"",
            "exec",
            "hi",
        ]
    );
    assert!(!argv.contains(&secret));
    let env = read(&codex_out.join("env"));
    assert!(env
        .lines()
        .any(|line| line == format!("KEYBEARER_TOKEN_API_EXAMPLE_COM_MCP={secret}")));
    assert!(
        !codex_out.join("config").exists(),
        "Codex gets no config file"
    );

    // Codex cannot use SSE servers: said plainly, nothing started.
    h.add(
        &vault,
        "https://legacy.example.com/sse",
        "sse",
        &token("sse"),
    );
    std::fs::remove_file(codex_out.join("argv")).expect("reset");
    let mut command = h.command(&[
        "session", "start", "--vault", "Tools", "--agent", "codex", "--direct",
    ]);
    command.env("PATH", path_with(&bin));
    let run = h.run_with(command, "").code(2);
    assert!(
        run.stderr
            .contains("Codex CLI supports only streamable HTTP MCP servers"),
        "{}",
        run.stderr
    );
    assert!(!codex_out.join("argv").exists());
    h.assert_nowhere(&secret);
}

#[test]
fn missing_agents_and_mixed_environments_are_clear_errors() {
    let h = Home::new();
    h.vault("Dev", "development");
    h.vault("Prod", "production");
    let empty = h.path("empty-bin");
    std::fs::create_dir(&empty).expect("dir");
    let mut command = h.command(&[
        "session", "start", "--vault", "Dev", "--agent", "claude", "--direct",
    ]);
    command.env("PATH", &empty);
    let run = h.run_with(command, "").code(127);
    assert!(
        run.stderr
            .contains("Claude Code is not installed: the `claude` command was not found on PATH."),
        "{}",
        run.stderr
    );
    let run = h
        .run(
            &[
                "session", "start", "--vault", "Dev", "--vault", "Prod", "--agent", "custom",
                "--direct", "--", "true",
            ],
            "",
        )
        .code(2);
    assert!(
        run.stderr.contains("different environments"),
        "{}",
        run.stderr
    );
    let run = h
        .run(
            &[
                "session", "start", "--vault", "Dev", "--agent", "custom", "--direct",
            ],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("after --"), "{}", run.stderr);
    let presets = h.run(&["--json", "session", "agents"], "").code(0).json();
    let commands: Vec<&str> = presets
        .as_array()
        .expect("array")
        .iter()
        .map(|preset| preset["command"].as_str().expect("command"))
        .collect();
    assert_eq!(commands, ["claude", "codex"]);
}

#[test]
fn a_session_in_another_terminal_is_stopped_with_its_whole_process_group() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("stop"),
    );
    let pids = h.path("pids");
    let agent = h.script(
        "stubborn.sh",
        &format!(
            "trap '' TERM\nsleep 1000 &\nprintf '%s %s %s\\n' \"$$\" \"$!\" \"$KEYBEARER_MCP_CONFIG\" > {}\nwait",
            pids.display()
        ),
    );
    let mut background = h
        .command(&[
            "session", "start", "--vault", "Work", "--agent", "custom", "--direct", "--", &agent,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("session start");
    wait_for("the agent to start", || {
        read_opt(&pids).is_some_and(|text| text.ends_with('\n'))
    });
    let line = read(&pids);
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (agent_pid, child_pid) = (fields[0].to_string(), fields[1].to_string());
    let config = PathBuf::from(fields[2]);
    assert!(config.exists());

    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["state"], "running");
    assert_eq!(listed[0]["pid"].to_string(), agent_pid);
    let id = listed[0]["id"].as_str().expect("id").to_string();
    let stopped = h
        .run(&["--json", "session", "stop", &id, "--grace", "1"], "")
        .code(0)
        .json();
    assert_eq!(stopped["state"], "stopped");
    let status = background.wait().expect("session start ends");
    // The agent ignored SIGTERM and was killed: 128 + SIGKILL.
    assert_eq!(status.code(), Some(137));
    let pgid = agent_pid.parse::<i32>().expect("pid");
    wait_for("the process group to be gone", || {
        nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), None)
            == Err(nix::errno::Errno::ESRCH)
    });
    let child = child_pid.parse::<i32>().expect("pid");
    wait_for("the agent's child to be gone", || {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child), None)
            == Err(nix::errno::Errno::ESRCH)
    });
    assert!(!config.exists() && !config.parent().expect("dir").exists());
    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["state"], "stopped");
    assert_eq!(listed[0]["signal"], 9);
    let run = h.run(&["session", "stop", &id], "").code(3);
    assert!(run.stderr.contains("is not running"), "{}", run.stderr);
}

fn read_opt(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

#[test]
fn an_interactive_agent_owns_the_terminal_keyboard_and_ctrl_c() {
    let h = Home::new();
    let vault = h.vault("Work", "development");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &token("tty"),
    );
    // Reads a line from the terminal (it would be stopped by SIGTTIN if it
    // were not the foreground), then waits for Ctrl-C, which only reaches it
    // if the terminal's foreground group is the agent's.
    let agent = h.script(
        "interactive.sh",
        "trap 'echo got-ctrl-c; exit 4' INT\nprintf 'name? '\nread name\necho \"hello $name\"\necho ready-for-ctrl-c\nwhile :; do sleep 1; done",
    );
    let pair = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows: 24,
            cols: 100,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut command = portable_pty::CommandBuilder::new(BIN);
    command.args([
        "--data-dir",
        &h.path("data").to_string_lossy(),
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "custom",
        "--direct",
        "--",
        &agent,
    ]);
    command.cwd(h.dir.path());
    let mut child = pair.slave.spawn_command(command).expect("spawn in pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let mut writer = pair.master.take_writer().expect("writer");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut expect = |needle: &str| {
        let deadline = Instant::now() + DEADLINE;
        while !seen.contains(needle) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => panic!("{needle:?} never appeared; terminal showed {seen:?}"),
            }
        }
    };
    expect("name? ");
    writer.write_all(b"vault\r").expect("type");
    writer.flush().expect("flush");
    expect("hello vault");
    expect("ready-for-ctrl-c");
    writer.write_all(b"\x03").expect("ctrl-c");
    writer.flush().expect("flush");
    expect("got-ctrl-c");
    expect("exited (4)");
    let status = child.wait().expect("keybearer ends");
    assert_eq!(status.exit_code(), 4);
}
