//! Sessions with real processes: shell-script agents that report what they
//! were given, the official MCP client as an agent against the official MCP
//! server, process groups that ignore SIGTERM, and a real pseudo-terminal.
//! Direct-mode tests open tokens, so they need the Secret Service that
//! `scripts/with-secret-service.sh` starts; the others only need SQLite.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::killpg;
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use vault_core::session::{
    direct_endpoints, prepare, recorded_session, recorded_sessions, stop_recorded_session, Agent,
    InjectionMode, SessionManager, SessionRequest, SessionState, Terminal,
};
mod support;

use support::peers::{python, repo_root, PythonServer};
use vault_core::{AccessToken, Engine, NewCredential, Protocol, SetupProtection};

const DEADLINE: Duration = Duration::from_secs(60);

fn require_secret_service() {
    assert_eq!(
        std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}

struct World {
    dir: tempfile::TempDir,
    engine: Engine,
}

impl World {
    /// A data folder with a vault; no keychain involved.
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&dir.path().join("data")).expect("open");
        Self { dir, engine }
    }

    /// Set up with the OS keychain, so tokens can be stored and opened.
    fn with_keychain() -> Self {
        require_secret_service();
        let mut world = Self::new();
        world
            .engine
            .keys()
            .initialize(SetupProtection::Keychain)
            .expect("init");
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn vault(&mut self, name: &str, environment: &str) -> String {
        self.engine
            .catalog()
            .create_vault(name, environment, vec![])
            .expect("vault")
            .id
    }

    fn add(&mut self, vault: &str, url: &str, protocol: Protocol, token: &str) {
        self.engine
            .catalog()
            .add_credential(
                vault,
                NewCredential {
                    mcp_server_url: url.into(),
                    protocol: Some(protocol),
                    access_token: AccessToken::new(token.into()).expect("token"),
                },
            )
            .expect("credential");
    }

    /// A shell script agent written into the test's folder.
    fn script(&self, name: &str, body: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    fn request(&self, vaults: &[&str], agent: Agent, injection: InjectionMode) -> SessionRequest {
        SessionRequest {
            vault_ids: vaults.iter().map(|v| v.to_string()).collect(),
            agent,
            working_dir: self.dir.path().to_path_buf(),
            injection,
        }
    }

    /// Starts a custom command in proxy mode with no servers: what the
    /// process tests need, without tokens.
    fn start_plain(
        &mut self,
        manager: &SessionManager,
        program: &str,
        args: &[&str],
        terminal: Terminal,
    ) -> vault_core::session::StartedSession {
        // One vault serves every plain session of a test (names are unique).
        let vault = match self.engine.catalog().vault("Plain") {
            Ok(existing) => existing.id,
            Err(_) => self.vault("Plain", "development"),
        };
        let agent = Agent::Custom {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        let prepared = prepare(
            &self.engine,
            self.request(&[&vault], agent, InjectionMode::Proxy),
        )
        .expect("prepare");
        manager.start(prepared, vec![], terminal).expect("start")
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn read_when_present(path: &Path) -> String {
    wait_for(&format!("{}", path.display()), DEADLINE, || {
        std::fs::read_to_string(path).is_ok_and(|text| text.ends_with('\n'))
    });
    std::fs::read_to_string(path).expect("read")
}

/// `kill(-pgid, 0)` fails once no process of the group remains (zombies
/// included, so this also waits for orphans to be reaped).
fn group_gone(pgid: u32) -> bool {
    let pgid = Pid::from_raw(i32::try_from(pgid).expect("pid"));
    killpg(pgid, None) == Err(Errno::ESRCH)
}

fn process_gone(pid: i32) -> bool {
    nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
}

fn kinds_for(engine: &mut Engine, session_id: &str) -> Vec<(String, Option<i64>)> {
    let mut events: Vec<(String, Option<i64>)> = engine
        .audit()
        .events(None, 500)
        .expect("events")
        .into_iter()
        .filter(|event| event.session_id.as_deref() == Some(session_id))
        .map(|event| (event.kind.to_string(), event.status))
        .collect();
    events.reverse();
    events
}

#[test]
fn direct_mode_custom_agent_reads_the_token_from_its_private_config_never_from_argv() {
    let mut w = World::with_keychain();
    let vault = w.vault("Work", "staging");
    let token = format!("tok-direct-{}", std::process::id());
    w.add(
        &vault,
        "https://mcp.example.com/mcp",
        Protocol::StreamableHttp,
        &token,
    );
    w.add(
        &vault,
        "https://old.example.com/sse",
        Protocol::Sse,
        "tok-sse-2",
    );
    let out = w.path("out");
    std::fs::create_dir(&out).expect("out");
    let agent = w.script(
        "agent.sh",
        &(format!("out='{}'\n", out.display())
            + r#"for arg in "$@"; do printf '%s\n' "$arg"; done > "$out/argv"
env > "$out/env"
pwd > "$out/pwd"
cat "$KEYBEARER_MCP_CONFIG" > "$out/config"
stat -c %a "$KEYBEARER_MCP_CONFIG" > "$out/file_mode"
stat -c %a "$(dirname "$KEYBEARER_MCP_CONFIG")" > "$out/dir_mode"
printf '%s\n' "$KEYBEARER_MCP_CONFIG" > "$out/config_path"
printf 'done\n' > "$out/finished""#),
    );
    let request = w.request(
        &[&vault],
        Agent::Custom {
            program: agent,
            args: vec!["--config={mcp_config}".into(), "plain-arg".into()],
        },
        InjectionMode::Direct,
    );
    let prepared = prepare(&w.engine, request).expect("prepare");
    let id = prepared.id().to_string();
    assert!(id.starts_with("sesn_"));
    let endpoints =
        direct_endpoints(&mut w.engine, &id, prepared.vault_ids()).expect("direct endpoints");
    assert_eq!(endpoints.len(), 2);
    assert!(!format!("{endpoints:?}").contains(&token));

    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = manager
        .start(prepared, endpoints, Terminal::Inherit)
        .expect("start");
    assert_eq!(started.session.state, SessionState::Running);
    let ended = manager.wait(&id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 0 });
    read_when_present(&out.join("finished"));

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config")).expect("config"))
            .expect("config is JSON");
    let servers = config["mcpServers"].as_object().expect("mcpServers");
    let server = &servers["mcp-example-com-mcp"];
    assert_eq!(server["type"], "http");
    assert_eq!(server["url"], "https://mcp.example.com/mcp");
    assert_eq!(
        server["headers"]["Authorization"],
        format!("Bearer {token}").as_str()
    );
    assert_eq!(servers["old-example-com-sse"]["type"], "sse");

    let argv = std::fs::read_to_string(out.join("argv")).expect("argv");
    let config_path = std::fs::read_to_string(out.join("config_path")).expect("path");
    let config_path = PathBuf::from(config_path.trim());
    assert_eq!(
        argv,
        format!("--config={}\nplain-arg\n", config_path.display())
    );
    assert!(!argv.contains(&token), "the token must never be in argv");
    let env = std::fs::read_to_string(out.join("env")).expect("env");
    assert!(
        !env.contains(&token),
        "custom agents get the token in the file only"
    );
    assert!(env.contains(&format!("KEYBEARER_SESSION_ID={id}")));
    assert!(env.contains(&format!("KEYBEARER_MCP_CONFIG={}", config_path.display())));
    assert_eq!(
        std::fs::read_to_string(out.join("pwd"))
            .expect("pwd")
            .trim(),
        std::fs::canonicalize(w.dir.path())
            .expect("canonical")
            .to_string_lossy()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("file_mode"))
            .expect("mode")
            .trim(),
        "600"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("dir_mode"))
            .expect("mode")
            .trim(),
        "700"
    );
    assert!(!config_path.exists(), "the config is removed at the end");
    assert!(
        !config_path.parent().expect("dir").exists(),
        "so is its folder"
    );

    let recorded = recorded_session(&mut w.engine, &id).expect("recorded");
    assert_eq!(recorded.state, SessionState::Exited { code: 0 });
    assert_eq!(recorded.injection, InjectionMode::Direct);
    assert_eq!(recorded.vault_ids, std::slice::from_ref(&vault));
    assert!(recorded.ended_at.is_some());
    let kinds = kinds_for(&mut w.engine, &id);
    assert!(
        kinds.contains(&("credential.used".into(), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("session.started".into(), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("session.exited".into(), Some(0))),
        "{kinds:?}"
    );
    // Nothing of the token in the audit trail or the session records.
    let db = std::fs::read(w.path("data/vault.db")).expect("db");
    let wal = std::fs::read(w.path("data/vault.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes
            .windows(token.len())
            .any(|win| win == token.as_bytes()));
    }
}

#[test]
fn the_official_mcp_client_calls_a_tool_with_the_direct_mode_config() {
    let python = python();
    let mut w = World::with_keychain();
    for (transport, protocol) in [
        ("streamable_http", Protocol::StreamableHttp),
        ("sse", Protocol::Sse),
    ] {
        let token = format!("tok-mcp-{transport}-{}", std::process::id());
        let server = PythonServer::with_token(transport, &token);
        let vault = w.vault(&format!("MCP {transport}"), "development");
        w.add(&vault, &server.url, protocol, &token);
        let result = w.path(&format!("client-{transport}.json"));
        // The client prints one JSON line; the shell only redirects it.
        let agent = Agent::Custom {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "\"$0\" \"$1\" --config \"$2\" --tool whoami > \"$3\"".into(),
                python.to_string_lossy().into_owned(),
                repo_root()
                    .join("tests/mcp-peers/client.py")
                    .to_string_lossy()
                    .into_owned(),
                "{mcp_config}".into(),
                result.to_string_lossy().into_owned(),
            ],
        };
        let prepared = prepare(
            &w.engine,
            w.request(&[&vault], agent, InjectionMode::Direct),
        )
        .expect("prepare");
        let id = prepared.id().to_string();
        let endpoints = direct_endpoints(&mut w.engine, &id, prepared.vault_ids()).expect("ep");
        let manager = SessionManager::new(&w.engine).expect("manager");
        manager
            .start(prepared, endpoints, Terminal::Inherit)
            .expect("start");
        let ended = manager.wait(&id).expect("wait");
        let output = std::fs::read_to_string(&result).unwrap_or_default();
        assert_eq!(
            ended.state,
            SessionState::Exited { code: 0 },
            "{transport}: {output}"
        );
        let answer: serde_json::Value = serde_json::from_str(output.trim()).expect("json");
        assert_eq!(answer["ok"], true, "{transport}: {output}");
        assert_eq!(answer["server"], "keybearer-test-server");
        let expected = format!("{:x}", Sha256::digest(token.as_bytes()));
        assert_eq!(answer["result"], expected.as_str(), "{transport}");
    }
}

#[test]
fn an_agent_that_exits_by_itself_has_its_code_recorded() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(&manager, "sh", &["-c", "exit 7"], Terminal::Inherit);
    let id = started.session.id.clone();
    let ended = manager.wait(&id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 7 });
    assert_eq!(ended.shell_exit_code(), 7);
    assert_eq!(manager.list()[0].state, SessionState::Exited { code: 7 });
    assert_eq!(
        recorded_session(&mut w.engine, &id).expect("row").state,
        SessionState::Exited { code: 7 }
    );
    let kinds = kinds_for(&mut w.engine, &id);
    assert_eq!(
        kinds,
        [
            ("session.started".to_string(), None),
            ("session.exited".to_string(), Some(7))
        ]
    );
}

#[test]
fn a_crashing_agent_is_recorded_as_failed_with_its_signal() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(&manager, "sh", &["-c", "kill -SEGV $$"], Terminal::Inherit);
    let ended = manager.wait(&started.session.id).expect("wait");
    match &ended.state {
        SessionState::Failed { reason } => assert!(reason.contains("SIGSEGV"), "{reason}"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(ended.signal, Some(11));
    assert_eq!(ended.shell_exit_code(), 139);
    let recorded = recorded_session(&mut w.engine, &started.session.id).expect("row");
    assert_eq!(recorded.state, ended.state);
    assert_eq!(recorded.signal, Some(11));
}

#[test]
fn stop_ends_an_agent_that_ignores_sigterm_and_all_its_children() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let pids = w.path("pids");
    let script = w.script(
        "stubborn.sh",
        &format!(
            "trap '' TERM\nsleep 1000 &\nprintf '%s\\n' \"$!\" > {}\nsleep 1000",
            pids.display()
        ),
    );
    let started = w.start_plain(&manager, &script, &[], Terminal::Inherit);
    let pgid = started.session.pid.expect("pid");
    let child: i32 = read_when_present(&pids).trim().parse().expect("child pid");
    assert!(!group_gone(pgid));

    let ended = manager.stop(&started.session.id).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert_eq!(ended.signal, Some(9), "it took SIGKILL");
    wait_for("the whole group to be gone", DEADLINE, || group_gone(pgid));
    wait_for("the child to be gone", DEADLINE, || process_gone(child));
    let kinds = kinds_for(&mut w.engine, &started.session.id);
    assert_eq!(kinds.last().expect("event").0, "session.stopped");
    // Stopping again is harmless and reports the same end.
    assert_eq!(
        manager.stop(&started.session.id).expect("again").state,
        SessionState::Stopped
    );
}

#[test]
fn shutdown_stops_every_session_and_leaves_no_process_or_private_folder() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let mut running = Vec::new();
    for (i, trap) in ["", "trap '' TERM", "trap 'exit 3' TERM"]
        .iter()
        .enumerate()
    {
        let report = w.path(&format!("report-{i}"));
        let script = w.script(
            &format!("agent-{i}.sh"),
            &format!(
                "{trap}\nsleep 1000 &\nprintf '%s %s\\n' \"$!\" \"$KEYBEARER_MCP_CONFIG\" > {}\nwait\nsleep 1000",
                report.display()
            ),
        );
        let started = w.start_plain(&manager, &script, &[], Terminal::Inherit);
        running.push((started.session, report));
    }
    let mut watched = Vec::new();
    for (session, report) in &running {
        let line = read_when_present(report);
        let (child, config) = line.trim().split_once(' ').expect("pid and path");
        let config = PathBuf::from(config);
        assert!(config.exists());
        watched.push((
            session.pid.expect("pid"),
            child.parse::<i32>().expect("pid"),
            config,
        ));
    }
    manager.shutdown();
    for session in manager.list() {
        assert_eq!(session.state, SessionState::Stopped, "{}", session.id);
    }
    for (pgid, child, config) in watched {
        assert!(!config.exists());
        assert!(!config.parent().expect("dir").exists());
        wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
        wait_for("the child to be gone", DEADLINE, || process_gone(child));
    }
    for (session, _) in &running {
        assert_eq!(
            recorded_session(&mut w.engine, &session.id)
                .expect("row")
                .state,
            SessionState::Stopped
        );
    }
}

#[test]
fn dropping_the_manager_stops_its_sessions() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let started = w.start_plain(&manager, "sleep", &["1000"], Terminal::Inherit);
    let pgid = started.session.pid.expect("pid");
    drop(manager);
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
    assert_eq!(
        recorded_session(&mut w.engine, &started.session.id)
            .expect("row")
            .state,
        SessionState::Stopped
    );
}

#[test]
fn a_missing_program_is_a_clear_error_not_a_crash() {
    let mut w = World::new();
    let vault = w.vault("V", "development");
    let request = w.request(
        &[&vault],
        Agent::Custom {
            program: "keybearer-no-such-agent".into(),
            args: vec![],
        },
        InjectionMode::Direct,
    );
    let error = prepare(&w.engine, request).expect_err("missing");
    assert_eq!(error.code(), "agent_not_found");
    assert!(
        error
            .to_string()
            .contains("`keybearer-no-such-agent` was not found on PATH"),
        "{error}"
    );
    let claude_installed = vault_core::session::detect_presets()
        .iter()
        .any(|preset| preset.command == "claude" && preset.path.is_some());
    if !claude_installed {
        let request = w.request(
            &[&vault],
            Agent::Claude { args: vec![] },
            InjectionMode::Direct,
        );
        let error = prepare(&w.engine, request).expect_err("no claude");
        assert!(
            error.to_string().starts_with(
                "Claude Code is not installed: the `claude` command was not found on PATH."
            ),
            "{error}"
        );
        assert!(error.to_string().contains("or choose another agent"));
    }
}

#[test]
fn sessions_never_mix_environments_and_need_an_existing_folder() {
    let mut w = World::new();
    let dev = w.vault("Dev", "development");
    let prod = w.vault("Prod", "production");
    let sh = Agent::Custom {
        program: "sh".into(),
        args: vec![],
    };
    let error = prepare(
        &w.engine,
        w.request(&[&dev, &prod], sh.clone(), InjectionMode::Direct),
    )
    .expect_err("mixed");
    assert_eq!(error.code(), "mixed_environments");
    assert!(error.to_string().contains("different environments"));

    let mut request = w.request(&[&dev], sh.clone(), InjectionMode::Direct);
    request.working_dir = w.path("missing");
    let error = prepare(&w.engine, request).expect_err("no folder");
    assert!(error.to_string().contains("does not exist"), "{error}");
    let file = w.path("file");
    std::fs::write(&file, "x").expect("file");
    let mut request = w.request(&[&dev], sh.clone(), InjectionMode::Direct);
    request.working_dir = file;
    let error = prepare(&w.engine, request).expect_err("a file");
    assert!(error.to_string().contains("not a folder"), "{error}");

    // Names work as well as ids, and duplicates collapse in order.
    let prepared = prepare(
        &w.engine,
        w.request(&["Dev", &dev], sh, InjectionMode::Direct),
    )
    .expect("ok");
    assert_eq!(prepared.vault_ids(), [dev]);
    assert_eq!(prepared.environment(), "development");
}

fn pty_reader(mut reader: Box<dyn Read + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

fn read_until(rx: &mpsc::Receiver<Vec<u8>>, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + DEADLINE;
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            Err(_) => panic!("{needle:?} never came through the PTY; got {seen:?}"),
        }
    }
}

#[test]
fn pty_sessions_carry_output_input_and_resize() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(
        &manager,
        "sh",
        &[
            "-c",
            "printf hello; read line; stty size; printf 'got:%s\\n' \"$line\"; [ -t 0 ] && echo is-a-tty",
        ],
        Terminal::Pty { rows: 24, cols: 80 },
    );
    let pty = started.pty.expect("a PTY session has a terminal");
    assert!(manager.pty(&started.session.id).is_some());
    let rx = pty_reader(pty.reader().expect("reader"));
    let mut seen = String::new();
    read_until(&rx, &mut seen, "hello");
    pty.resize(40, 100).expect("resize");
    let mut writer = pty.take_writer().expect("writer");
    writer.write_all(b"typed-input\n").expect("write");
    writer.flush().expect("flush");
    read_until(&rx, &mut seen, "got:typed-input");
    assert!(seen.contains("40 100"), "{seen:?}");
    read_until(&rx, &mut seen, "is-a-tty");
    let ended = manager.wait(&started.session.id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 0 });
    assert!(
        pty.resize(10, 10).is_err(),
        "the terminal closes with the session"
    );
}

#[test]
fn pty_sessions_stop_too() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let started = w.start_plain(
        &manager,
        "sh",
        &["-c", "trap '' TERM HUP; echo ready; sleep 1000"],
        Terminal::Pty { rows: 24, cols: 80 },
    );
    let pty = started.pty.expect("pty");
    let rx = pty_reader(pty.reader().expect("reader"));
    let mut seen = String::new();
    read_until(&rx, &mut seen, "ready");
    let pgid = started.session.pid.expect("pid");
    let ended = manager.stop(&started.session.id).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
}

#[test]
fn a_session_started_elsewhere_can_be_stopped_through_the_database() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(
        &manager,
        "sh",
        &["-c", "trap '' TERM; sleep 1000"],
        Terminal::Inherit,
    );
    let id = started.session.id.clone();
    let pgid = started.session.pid.expect("pid");
    // Another engine on the same data folder, as another process would have.
    let mut other = Engine::open(&w.path("data")).expect("open");
    let listed = recorded_sessions(&mut other, 10).expect("list");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].state, SessionState::Running);
    let ended = stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert_eq!(
        manager.wait(&id).expect("owner saw it").state,
        SessionState::Stopped
    );
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
    let error =
        stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect_err("not running");
    assert_eq!(error.code(), "session_not_running");
}

#[test]
fn session_resources_live_exactly_as_long_as_the_agent() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Stands in for the proxy's per-session listeners.
    struct Listeners(Arc<AtomicBool>);
    impl Drop for Listeners {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let mut w = World::new();
    let vault = w.vault("V", "development");
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let closed = Arc::new(AtomicBool::new(false));
    let agent = Agent::Custom {
        program: "sleep".into(),
        args: vec!["1000".into()],
    };
    let prepared =
        prepare(&w.engine, w.request(&[&vault], agent, InjectionMode::Proxy)).expect("prepare");
    let started = manager
        .start_with(
            prepared,
            vec![],
            Terminal::Inherit,
            Box::new(Listeners(Arc::clone(&closed))),
        )
        .expect("start");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!closed.load(Ordering::SeqCst), "kept while the agent runs");
    manager.stop(&started.session.id).expect("stop");
    assert!(closed.load(Ordering::SeqCst), "released when it ended");

    // A start that fails releases them too.
    let closed = Arc::new(AtomicBool::new(false));
    let prepared = prepare(
        &w.engine,
        w.request(
            &[&vault],
            Agent::Custom {
                program: "sh".into(),
                args: vec![],
            },
            InjectionMode::Proxy,
        ),
    )
    .expect("prepare");
    let bad_name = vault_core::session::McpEndpoint {
        name: "Not Valid".into(),
        url: "http://127.0.0.1:1/mcp".into(),
        transport: Protocol::StreamableHttp,
        authorization: vault_core::session::HeaderSecret::bearer("s").expect("secret"),
    };
    let error = manager
        .start_with(
            prepared,
            vec![bad_name],
            Terminal::Inherit,
            Box::new(Listeners(Arc::clone(&closed))),
        )
        .expect_err("invalid name");
    assert_eq!(error.code(), "invalid_input");
    assert!(closed.load(Ordering::SeqCst));
}
