//! Shared by the session tests: a data folder with an engine (`World`),
//! shell-script agents, and waits for processes and files.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keybearer_session::{prepare, Agent, InjectionMode, SessionManager, SessionRequest, Terminal};
use keybearer_vault::{AccessToken, Engine, NewCredential, Protocol, SetupProtection};
use nix::errno::Errno;
use nix::sys::signal::killpg;
use nix::unistd::Pid;

use super::require_secret_service;

pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct World {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
}

impl World {
    /// A data folder with a vault; no keychain involved.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(&dir.path().join("data")).expect("open");
        Self { dir, engine }
    }

    /// Set up with the OS keychain, so tokens can be stored and opened.
    pub fn with_keychain() -> Self {
        require_secret_service();
        let mut world = Self::new();
        world
            .engine
            .keys()
            .initialize(SetupProtection::Keychain)
            .expect("init");
        world
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn vault(&mut self, name: &str, environment: &str) -> String {
        self.engine
            .catalog()
            .create_vault(name, environment, vec![])
            .expect("vault")
            .id
    }

    pub fn add(&mut self, vault: &str, url: &str, protocol: Protocol, token: &str) {
        self.engine
            .catalog()
            .add_credential(
                vault,
                NewCredential {
                    mcp_server_url: url.into(),
                    protocol: Some(protocol),
                    secret: AccessToken::new(token.into()).expect("token").into(),
                },
            )
            .expect("credential");
    }

    /// A shell script agent written into the test's folder.
    pub fn script(&self, name: &str, body: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.to_string_lossy().into_owned()
    }

    pub fn request(
        &self,
        vaults: &[&str],
        agent: Agent,
        injection: InjectionMode,
    ) -> SessionRequest {
        SessionRequest {
            vault_ids: vaults.iter().map(|v| v.to_string()).collect(),
            agent,
            working_dir: self.dir.path().to_path_buf(),
            injection,
            // These tests check the manager's own handling of processes
            // (signals, exit codes); sessions_sandbox.rs runs agents sandboxed.
            sandbox: false,
            writable: Vec::new(),
        }
    }

    /// Starts a custom command in proxy mode with no servers: what the
    /// process tests need, without tokens.
    pub fn start_plain(
        &mut self,
        manager: &SessionManager,
        program: &str,
        args: &[&str],
        terminal: Terminal,
    ) -> keybearer_session::StartedSession {
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

pub fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn read_when_present(path: &Path) -> String {
    wait_for(&format!("{}", path.display()), DEADLINE, || {
        std::fs::read_to_string(path).is_ok_and(|text| text.ends_with('\n'))
    });
    std::fs::read_to_string(path).expect("read")
}

/// `kill(-pgid, 0)` fails once no process of the group remains (zombies
/// included, so this also waits for orphans to be reaped).
pub fn group_gone(pgid: u32) -> bool {
    let pgid = Pid::from_raw(i32::try_from(pgid).expect("pid"));
    killpg(pgid, None) == Err(Errno::ESRCH)
}

pub fn process_gone(pid: i32) -> bool {
    nix::sys::signal::kill(Pid::from_raw(pid), None) == Err(Errno::ESRCH)
}

pub fn kinds_for(engine: &mut Engine, session_id: &str) -> Vec<(String, Option<i64>)> {
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
