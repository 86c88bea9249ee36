//! Windows sessions with real processes, run under Wine by
//! `scripts/windows-test.sh`: the agent is this test program started again
//! (the ignored `agent` test below plays it), reporting what it was given
//! over a TCP connection it keeps open for its whole life, so the test sees
//! each process of the session end — the agent's own children too.
//!
//! What runs here: the agent in its Job Object with a hidden console
//! (`Terminal::Inherit`) and in a ConPTY (`Terminal::Pty`, whose output
//! Wine 8 never delivers: the agent reports over TCP instead), proxy mode's
//! configuration and environment, exit codes and records, Stop, shutdown,
//! a stop asked through the database, the session check of a process
//! inside a session, and the approval pipe. The keychain is Wine's
//! Credential Manager (`KEYBEARER_KEYRING_SESSION=ready`).

#![cfg(windows)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use keybearer_session::{
    ask_app, inside_session, prepare, recorded_session, stop_recorded_session, Agent,
    ApprovalListener, ApprovalRequest, ApprovedInWindow, InjectionMode, Launcher, SessionManager,
    SessionRequest, SessionState, Terminal,
};
use keybearer_vault::{AccessToken, Engine, NewCredential, Protocol, SetupProtection};

const LIFETIME: Duration = Duration::from_secs(120);

struct World {
    dir: tempfile::TempDir,
    engine: Engine,
    reports: TcpListener,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&dir.path().join("data")).expect("open");
        let reports = TcpListener::bind("127.0.0.1:0").expect("reports");
        Self {
            dir,
            engine,
            reports,
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn vault(&mut self) -> String {
        match self.engine.catalog().vault("Plain") {
            Ok(existing) => existing.id,
            Err(_) => {
                self.engine
                    .catalog()
                    .create_vault("Plain", "development", vec![])
                    .expect("vault")
                    .id
            }
        }
    }

    /// This test program as the agent, in `role`.
    fn agent(&self, role: &str) -> Agent {
        let address = self.reports.local_addr().expect("address");
        Agent::Custom {
            program: std::env::current_exe()
                .expect("this program")
                .to_string_lossy()
                .into_owned(),
            args: vec![
                "--exact".into(),
                "agent".into(),
                "--ignored".into(),
                "--nocapture".into(),
                "--test-threads=1".into(),
                format!("role={role}"),
                format!("report={address}"),
                format!("data={}", self.data().display()),
            ],
        }
    }

    fn request(&mut self, role: &str) -> SessionRequest {
        SessionRequest {
            vault_ids: vec![self.vault()],
            agent: self.agent(role),
            working_dir: self.dir.path().to_path_buf(),
            injection: InjectionMode::Proxy,
            sandbox: false,
            writable: Vec::new(),
        }
    }

    fn start(&mut self, manager: &SessionManager, role: &str, terminal: Terminal) -> String {
        let request = self.request(role);
        let prepared = prepare(&self.engine, request).expect("prepare");
        manager
            .start(prepared, vec![], terminal)
            .expect("start")
            .session
            .id
    }

    /// The next process's report: its lines up to `ready`, and its connection.
    /// Waits at most a minute for the process, so a broken test fails
    /// instead of hanging.
    fn report(&self) -> Report {
        self.reports.set_nonblocking(true).expect("nonblocking");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let stream = loop {
            match self.reports.accept() {
                Ok((stream, _)) => break stream,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "no process reported within a minute"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("a report: {error}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut reader = BufReader::new(stream);
        let mut lines = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("report line");
            let line = line.trim_end_matches(['\r', '\n']);
            if line == "ready" || line.is_empty() {
                break;
            }
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            lines.insert(key.to_string(), value.to_string());
        }
        Report { lines, reader }
    }
}

struct Report {
    lines: HashMap<String, String>,
    reader: BufReader<TcpStream>,
}

impl Report {
    fn get(&self, key: &str) -> &str {
        self.lines
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {:?}", self.lines))
    }

    fn pid(&self) -> u32 {
        self.get("pid").parse().expect("pid")
    }

    /// Whether the process's connection closed (it ended) within `limit`.
    fn ended_within(&mut self, limit: Duration) -> bool {
        self.reader
            .get_ref()
            .set_read_timeout(Some(limit))
            .expect("timeout");
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(error) => !matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }
}

fn approval_request() -> ApprovalRequest {
    ApprovalRequest {
        program: "claude".into(),
        vaults: vec!["Plain".into()],
        environment: "development".into(),
    }
}

/// Not a test: the agents' body (does nothing unless started as one).
#[test]
#[ignore = "the agent process the Windows session tests start"]
fn agent() {
    let args: HashMap<String, String> = std::env::args()
        .filter_map(|arg| {
            let (key, value) = arg.split_once('=')?;
            Some((key.to_string(), value.to_string()))
        })
        .collect();
    let (Some(role), Some(report)) = (args.get("role"), args.get("report")) else {
        return;
    };
    let mut out = TcpStream::connect(report).expect("connect to the test");
    let mut say = |line: String| {
        out.write_all(format!("{line}\n").as_bytes())
            .expect("report");
    };
    say(format!("pid {}", std::process::id()));
    let variable = |name: &str| std::env::var(name).unwrap_or_else(|_| "-".into());
    say(format!("session {}", variable("KEYBEARER_SESSION_ID")));
    say(format!("config {}", variable("KEYBEARER_MCP_CONFIG")));
    // The config's text as the agent read it: the session removes the file
    // when the agent ends, which for `exit7` is before the test could read it.
    let config_text = std::fs::read_to_string(variable("KEYBEARER_MCP_CONFIG"))
        .map(|text| text.replace(['\r', '\n'], " "))
        .unwrap_or_else(|error| format!("unreadable: {error}"));
    say(format!("config-text {config_text}"));
    say(format!("leak {}", variable("KEYBEARER_TOKEN_LEAK")));
    say(format!(
        "cwd {}",
        std::env::current_dir().expect("cwd").display()
    ));
    let data = PathBuf::from(args.get("data").expect("data"));
    let self_again = |role: &str, remove_session: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().expect("exe"));
        command.args([
            "--exact",
            "agent",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            &format!("role={role}"),
            &format!("report={report}"),
            &format!("data={}", data.display()),
        ]);
        if remove_session {
            command.env_remove("KEYBEARER_SESSION_ID");
        }
        command.spawn().expect("a child of the agent")
    };
    // A child of the agent's, when its role starts one.
    let mut child = None;
    match role.as_str() {
        "exit7" => {
            say("ready".into());
            std::process::exit(7);
        }
        "tree" => {
            child = Some(self_again("hold", false));
            say("ready".into());
        }
        "hold" => say("ready".into()),
        "ask" => {
            // A child without the session's variable: only the process tree tells.
            child = Some(self_again("inside", true));
            say("ready".into());
        }
        "inside" => {
            let mut engine = Engine::open(&data).expect("engine");
            say(format!(
                "inside {}",
                inside_session(&mut engine).expect("inside_session")
            ));
            say("ready".into());
        }
        "ask-app" => {
            let answer = ask_app(&data, &approval_request(), Duration::from_secs(20), || {});
            say(format!("answer {answer:?}"));
            say("ready".into());
        }
        other => panic!("unknown role {other}"),
    }
    std::thread::sleep(LIFETIME);
    if let Some(mut child) = child {
        let _ = child.wait();
    }
}

#[test]
fn proxy_mode_gives_the_agent_the_proxy_and_its_variables_never_the_token() {
    let mut w = World::new();
    w.engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    let vault = w.vault();
    let token = format!("tok-windows-{}", std::process::id());
    w.engine
        .catalog()
        .add_credential(
            &vault,
            NewCredential {
                mcp_server_url: "https://mcp.example.com/mcp".into(),
                protocol: Some(Protocol::StreamableHttp),
                secret: AccessToken::new(token.clone()).expect("token").into(),
            },
        )
        .expect("credential");
    // A token variable of an enclosing session is not passed on.
    std::env::set_var("KEYBEARER_TOKEN_LEAK", "leaked");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let launcher = Launcher::new(&w.engine, runtime.handle().clone()).expect("launcher");
    let request = w.request("exit7");
    let running = launcher
        .launch(&mut w.engine, request, Terminal::Inherit, &ApprovedInWindow)
        .expect("launch");
    assert_eq!(running.servers, 1);
    // Recorded and shown without Windows' `\\?\` prefix.
    assert!(
        !running
            .session
            .working_dir
            .to_string_lossy()
            .starts_with(r"\\?\"),
        "{:?}",
        running.session.working_dir
    );
    let report = w.report();
    assert_eq!(report.get("session"), running.session.id);
    assert_eq!(report.get("leak"), "-");
    // The working folder without Windows' `\\?\` prefix.
    assert_eq!(
        PathBuf::from(report.get("cwd")),
        dunce::canonicalize(w.dir.path()).expect("canonical")
    );
    assert!(!report.get("cwd").starts_with(r"\\?\"));
    let config_path = PathBuf::from(report.get("config"));
    assert!(
        config_path.starts_with(w.data().join("run")),
        "{config_path:?}"
    );
    let config = report.get("config-text").to_string();
    let json: serde_json::Value = serde_json::from_str(&config).expect("json");
    let servers = json["mcpServers"].as_object().expect("servers");
    assert_eq!(servers.len(), 1, "{config}");
    let server = servers.values().next().expect("one server");
    let url = server["url"].as_str().expect("url");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let header = server["headers"]["Authorization"].as_str().expect("header");
    assert!(header.starts_with("Bearer "), "{header}");
    assert!(!config.contains(&token));
    let ended = launcher.manager().wait(&running.session.id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 7 });
    assert!(!config_path.exists(), "the private folder is removed");
    assert_eq!(
        recorded_session(&mut w.engine, &running.session.id)
            .expect("row")
            .state,
        SessionState::Exited { code: 7 }
    );
}

/// Stop ends the agent and the process it started, which never left the
/// session's job; the end is recorded as a stop.
#[test]
fn stop_ends_the_agent_and_its_child() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let id = w.start(&manager, "tree", Terminal::Inherit);
    let mut agent = w.report();
    let mut child = w.report();
    assert_ne!(agent.pid(), child.pid());
    let ended = manager.stop(&id).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert!(agent.ended_within(Duration::from_secs(10)), "the agent");
    assert!(child.ended_within(Duration::from_secs(10)), "its child");
    assert_eq!(
        recorded_session(&mut w.engine, &id).expect("row").state,
        SessionState::Stopped
    );
    assert_eq!(
        manager.stop(&id).expect("again").state,
        SessionState::Stopped
    );
}

/// In a ConPTY too: Wine 8 shows none of its output, but the agent runs in
/// its job and its whole tree ends with the session.
#[test]
fn a_terminal_session_runs_in_its_job_too() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let id = w.start(&manager, "tree", Terminal::Pty { rows: 24, cols: 80 });
    let mut agent = w.report();
    let mut child = w.report();
    assert!(manager.pty(&id).is_some());
    drop(manager);
    assert!(agent.ended_within(Duration::from_secs(10)), "the agent");
    assert!(child.ended_within(Duration::from_secs(10)), "its child");
    assert_eq!(
        recorded_session(&mut w.engine, &id).expect("row").state,
        SessionState::Stopped
    );
}

/// Another Keybearer process asks through the database; the one holding
/// the job ends it.
#[test]
fn a_stop_asked_through_the_database_is_carried_out_by_the_owner() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let id = w.start(&manager, "tree", Terminal::Inherit);
    let mut agent = w.report();
    let mut child = w.report();
    let mut other = Engine::open(&w.data()).expect("open");
    let ended = stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert_eq!(
        manager.wait(&id).expect("wait").state,
        SessionState::Stopped
    );
    assert!(agent.ended_within(Duration::from_secs(10)), "the agent");
    assert!(child.ended_within(Duration::from_secs(10)), "its child");
    let error = stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect_err("ended");
    assert_eq!(error.code(), "session_not_running");
}

/// A process below a session's agent, without the session's variable, is
/// known to be inside by its ancestors.
#[test]
fn a_process_below_the_agent_knows_it_is_inside_a_session() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    w.start(&manager, "ask", Terminal::Inherit);
    let _agent = w.report();
    let inner = w.report();
    assert_eq!(inner.get("session"), "-");
    assert_eq!(inner.get("inside"), "true");
    // This test process runs the session but is not inside it.
    assert!(!inside_session(&mut w.engine).expect("inside"));
}

/// The app's pipe: a process of ours outside every session is asked about
/// and answered; the agent of a session is dropped unanswered (a refusal);
/// a second app on the same data folder does not take it over; an asker
/// that gave up is noticed.
#[test]
fn the_approval_pipe_names_the_asker_and_refuses_one_inside_a_session() {
    let mut w = World::new();
    let data = w.data();
    assert_eq!(
        ask_app(&data, &approval_request(), Duration::from_secs(1), || {}).expect("no app"),
        None
    );
    let app = ApprovalListener::bind(&data).expect("bind");
    assert!(ApprovalListener::bind(&data).is_err(), "a second app");
    std::thread::scope(|scope| {
        let asker =
            scope.spawn(|| ask_app(&data, &approval_request(), Duration::from_secs(20), || {}));
        let asked = app.next().expect("asked");
        assert_eq!(asked.pid, std::process::id());
        assert_eq!(asked.request, approval_request());
        assert!(!asked.command.is_empty());
        // Also from inside a Tokio runtime (as a front end's task may ask).
        let tokio = tokio::runtime::Runtime::new().expect("runtime");
        assert!(!tokio.block_on(async { asked.gone() }));
        asked.answer(true);
        assert_eq!(asker.join().expect("join").expect("ask"), Some(true));
    });

    let manager = SessionManager::new(&w.engine).expect("manager");
    let (agent, asked, outcome) = std::thread::scope(|scope| {
        let next = scope.spawn(|| app.next().expect("asked"));
        w.start(&manager, "ask-app", Terminal::Inherit);
        let agent = w.report();
        // The app is still waiting: this process asks, and is the one asked
        // about (asked before any assertion, so the waiting thread ends).
        let asker = scope.spawn(|| {
            ask_app(
                &data,
                &approval_request(),
                Duration::from_millis(500),
                || {},
            )
        });
        let asked = next.join().expect("join");
        (agent, asked, asker.join().expect("join"))
    });
    assert_eq!(agent.get("answer"), "Ok(Some(false))", "dropped unanswered");
    assert_eq!(asked.pid, std::process::id());
    assert_eq!(
        outcome.expect_err("gave up").code(),
        keybearer_base::ErrorCode::NotApproved
    );
    assert!(asked.gone());
}
