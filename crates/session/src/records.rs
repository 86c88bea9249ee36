//! Sessions on record: checking a request before anything runs, listing
//! recorded sessions (noticing ones whose Keybearer process vanished), and
//! stopping a session that another process runs.

use std::path::PathBuf;
use std::time::Duration;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::Timestamp;
use keybearer_vault::beside::Store;
use keybearer_vault::Engine;

use super::rows::{self as sessions, SessionRow};

use super::journal::{describe_end, record_events};
use super::model::{new_session_id, Agent, InjectionMode, Session, SessionState};
use super::private_dir;
use super::process::{self, proc_stat, process_exists, process_group_alive};
use super::program::resolve_program;

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    /// Vault ids or names, in precedence order.
    pub vault_ids: Vec<String>,
    pub agent: Agent,
    pub working_dir: PathBuf,
    pub injection: InjectionMode,
    /// Run the agent in a sandbox that hides Keybearer's data, the keychain
    /// and other processes (Linux: bubblewrap; macOS: Seatbelt, never run on
    /// a Mac). See [`SessionRequest::SANDBOX_BY_DEFAULT`].
    pub sandbox: bool,
    /// Folders a sandboxed agent may change besides its working folder and
    /// its own settings folder (see [`super::writable_folders`]).
    pub writable: Vec<PathBuf>,
}

impl SessionRequest {
    /// On where a sandbox exists (Linux, macOS); elsewhere there is none yet.
    pub const SANDBOX_BY_DEFAULT: bool = cfg!(any(target_os = "linux", target_os = "macos"));
}

/// A checked request: vaults exist and share one environment, the folder
/// exists, the agent's program is installed. Carries the new session's id,
/// which the proxy needs before the agent starts.
#[derive(Debug, Clone)]
pub struct PreparedSession {
    pub(crate) id: String,
    pub(crate) vault_ids: Vec<String>,
    pub(crate) environment: String,
    pub(crate) agent: Agent,
    pub(crate) program: PathBuf,
    pub(crate) working_dir: PathBuf,
    pub(crate) injection: InjectionMode,
    /// How the agent is sandboxed; `None` runs it without a sandbox.
    pub(crate) sandbox: Option<SandboxRequest>,
}

/// A sandbox asked for and available here (Linux: bubblewrap; macOS:
/// Seatbelt), with the folders the agent may change besides its own.
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[derive(Debug, Clone)]
pub(crate) struct SandboxRequest {
    pub(crate) writable: Vec<PathBuf>,
}

/// Where Keybearer has no sandbox yet there is no such thing as a
/// sandboxed session: this type has no value, so [`prepare`] refuses the
/// request and nothing downstream can start one unsandboxed by mistake.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
#[derive(Debug, Clone)]
pub(crate) enum SandboxRequest {}

impl PreparedSession {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Vault ids (`vlt_…`) in precedence order, duplicates removed.
    pub fn vault_ids(&self) -> &[String] {
        &self.vault_ids
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn injection(&self) -> InjectionMode {
        self.injection
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// The resolved absolute path of the program that will run.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    pub fn working_dir(&self) -> &std::path::Path {
        &self.working_dir
    }
}

/// Checks a session request without starting anything. Mixed
/// environments, a missing folder or an agent that is not installed are
/// refused here with a message that says what to do.
pub fn prepare(engine: &Engine, request: SessionRequest) -> Result<PreparedSession> {
    let resolver = engine.resolver();
    let mut vault_ids: Vec<String> = Vec::new();
    for key in &request.vault_ids {
        let id = resolver.vault(key)?.id;
        if !vault_ids.contains(&id) {
            vault_ids.push(id);
        }
    }
    let environment = resolver.environment_of(&vault_ids)?;
    let working_dir = check_working_dir(&request.working_dir)?;
    let program = resolve_program(request.agent.kind(), request.agent.program())?;
    let sandbox = if request.sandbox {
        Some(sandbox_request(request.writable)?)
    } else {
        None
    };
    Ok(PreparedSession {
        id: new_session_id(),
        vault_ids,
        environment,
        agent: request.agent,
        program,
        working_dir,
        injection: request.injection,
        sandbox,
    })
}

/// A sandbox can be made here: bubblewrap on Linux, Seatbelt on macOS;
/// none elsewhere yet.
#[cfg(target_os = "linux")]
fn sandbox_request(writable: Vec<PathBuf>) -> Result<SandboxRequest> {
    super::sandbox::bwrap()?;
    Ok(SandboxRequest { writable })
}

#[cfg(target_os = "macos")]
fn sandbox_request(writable: Vec<PathBuf>) -> Result<SandboxRequest> {
    super::seatbelt::check()?;
    Ok(SandboxRequest { writable })
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn sandbox_request(_writable: Vec<PathBuf>) -> Result<SandboxRequest> {
    Err(Error::Unsupported(
        "Sandboxed sessions are available on Linux and macOS only for now. Start this session without the sandbox (the agent could then use your keychain and Keybearer itself).".into(),
    ))
}

/// Recorded sessions, newest first. A session whose Keybearer process and
/// agent are both gone is marked failed (and its private folder removed) on
/// the way.
pub fn recorded_sessions(engine: &mut Engine, limit: u32) -> Result<Vec<Session>> {
    Records(engine.store_mut()).sessions(limit)
}

pub fn recorded_session(engine: &mut Engine, id: &str) -> Result<Session> {
    Records(engine.store_mut()).session(id)
}

/// Stops a session run by another Keybearer process (e.g. a `keybearer
/// session start` in another terminal): SIGTERM to the agent's process
/// group, SIGKILL after `grace`. The agent's identity is checked first (on
/// Linux by its start time), so a reused pid is never signalled. On
/// Windows only the process holding the session's job can end it: the stop
/// is asked through the database and that process ends the job.
pub fn stop_recorded_session(engine: &mut Engine, id: &str, grace: Duration) -> Result<Session> {
    Records(engine.store_mut()).stop(id, grace)
}

/// Cleans up after Keybearer processes that died without ending their
/// sessions (a `kill -9`, a crash, a power cut): every session whose owner is
/// gone loses its private folder (a direct-mode config holds a token), and is
/// recorded as ended if its agent is gone too. The CLI and the desktop app
/// run this at start. Returns how many folders were removed.
pub fn sweep_orphaned_sessions(engine: &mut Engine) -> Result<usize> {
    Records(engine.store_mut()).sweep()
}

/// The process ids of the agents of sessions still running (on Linux,
/// only those whose agent is still the process that was started).
pub(crate) fn running_session_pids(engine: &mut Engine) -> Result<Vec<u32>> {
    running_session_pids_in(engine.store_mut().conn())
}

/// Like [`running_session_pids`], from a connection of one's own.
pub(crate) fn running_session_pids_in(conn: &rusqlite::Connection) -> Result<Vec<u32>> {
    Ok(sessions::list_active(conn)?
        .into_iter()
        .filter_map(|row| {
            let pid = row.session.pid?;
            same_process(pid, row.process_start).then_some(pid)
        })
        .collect())
}

struct Records<'e>(&'e mut Store);

impl Records<'_> {
    fn sessions(&mut self, limit: u32) -> Result<Vec<Session>> {
        let rows = sessions::list(self.0.conn(), limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let row = self.settle_if_lost(row)?;
            out.push(row.session);
        }
        Ok(out)
    }

    fn session(&mut self, id: &str) -> Result<Session> {
        let row = sessions::get(self.0.conn(), id.trim())?;
        Ok(self.settle_if_lost(row)?.session)
    }

    fn stop(&mut self, id: &str, grace: Duration) -> Result<Session> {
        let row = self.settle_if_lost(sessions::get(self.0.conn(), id.trim())?)?;
        let session = &row.session;
        if !session.state.is_active() {
            return Err(Error::SessionNotRunning {
                id: session.id.clone(),
                state: session.state.to_string(),
            });
        }
        let Some(pid) = session.pid else {
            return Err(Error::Unsupported(format!(
                "Session {} is still starting. Try again in a moment.",
                session.id
            )));
        };
        let owner_alive = owner_alive(&row);
        #[cfg(windows)]
        return self.stop_through_owner(row, pid, owner_alive, grace);
        #[cfg(unix)]
        {
            let leader_is_ours = process_exists(pid) && same_process(pid, row.process_start);
            let safe_to_signal = leader_is_ours || (owner_alive && process_group_alive(pid));
            if !safe_to_signal {
                return Err(Error::Unsupported(format!(
                    "Session {} cannot be stopped safely from here: its agent (pid {pid}) is no longer the process that was started, and the Keybearer process that ran it is gone.",
                    session.id
                )));
            }
            sessions::request_stop(self.0.conn(), &session.id, Timestamp::now())?;
            process::terminate_group(pid, grace, || !process_group_alive(pid));
            // The owner records the end when it sees the agent exit; if it is gone, we do.
            if owner_alive {
                process::wait_until(Duration::from_secs(10), || {
                    sessions::get(self.0.conn(), &session.id)
                        .map(|row| !row.session.state.is_active())
                        .unwrap_or(false)
                });
            }
            let row = sessions::get(self.0.conn(), &session.id)?;
            if row.session.state.is_active() {
                let mut ended = row.session.clone();
                ended.state = SessionState::Stopped;
                ended.ended_at = Some(Timestamp::now());
                self.record_end(&ended, row.private_dir.as_deref())?;
                return Ok(ended);
            }
            Ok(row.session)
        }
    }

    /// Windows: the Keybearer process holding the session's job ends it
    /// when asked through the database; one that is gone took the job, and
    /// every process in it, with it.
    #[cfg(windows)]
    fn stop_through_owner(
        &mut self,
        row: SessionRow,
        pid: u32,
        owner_alive: bool,
        grace: Duration,
    ) -> Result<Session> {
        let session = &row.session;
        sessions::request_stop(self.0.conn(), &session.id, Timestamp::now())?;
        if owner_alive {
            process::wait_until(grace + Duration::from_secs(15), || {
                sessions::get(self.0.conn(), &session.id)
                    .map(|row| !row.session.state.is_active())
                    .unwrap_or(false)
            });
            let now = sessions::get(self.0.conn(), &session.id)?;
            if now.session.state.is_active() {
                return Err(Error::Unsupported(format!(
                    "The Keybearer process that runs session {} (pid {}, its agent pid {pid}) did not stop it in time. Stop it there: close its window or the terminal it runs in.",
                    session.id, row.owner_pid
                )));
            }
            return Ok(now.session);
        }
        let mut ended = session.clone();
        ended.state = SessionState::Stopped;
        ended.ended_at = Some(Timestamp::now());
        self.record_end(&ended, row.private_dir.as_deref())?;
        Ok(ended)
    }

    fn sweep(&mut self) -> Result<usize> {
        let mut removed = 0;
        for row in sessions::list_active(self.0.conn())? {
            if owner_alive(&row) {
                continue;
            }
            if let Some(dir) = row.private_dir.as_deref() {
                if private_dir::remove_recorded(dir, &row.session.id) {
                    removed += 1;
                    tracing::info!(session_id = %row.session.id, "removed the private folder of a session whose Keybearer process is gone");
                }
            }
            self.settle_if_lost(row)?;
        }
        Ok(removed)
    }

    fn settle_if_lost(&mut self, row: SessionRow) -> Result<SessionRow> {
        if !row.session.state.is_active() || owner_alive(&row) {
            return Ok(row);
        }
        let agent_alive = row
            .session
            .pid
            .is_some_and(|pid| process_group_alive(pid) || process_exists(pid));
        if agent_alive {
            return Ok(row);
        }
        let mut lost = row.clone();
        lost.session.state = SessionState::Failed {
            reason: "Keybearer ended without recording how this session ended".into(),
        };
        lost.session.ended_at = Some(Timestamp::now());
        self.record_end(&lost.session, row.private_dir.as_deref())?;
        Ok(lost)
    }

    fn record_end(&mut self, session: &Session, dir: Option<&std::path::Path>) -> Result<()> {
        if let Some(dir) = dir {
            private_dir::remove_recorded(dir, &session.id);
        }
        let (kind, status, detail) = describe_end(session);
        let tx = self.0.write()?;
        let at = session.ended_at.unwrap_or_else(Timestamp::now);
        if sessions::finish(&tx, &session.id, &session.state, session.signal, at)? {
            record_events(&tx, session, kind, status, &detail)?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn owner_alive(row: &SessionRow) -> bool {
    process_exists(row.owner_pid) && same_process(row.owner_pid, row.owner_start)
}

/// On Linux, whether `pid` is still the process that started at `start`;
/// elsewhere (no start time recorded) the pid is trusted.
fn same_process(pid: u32, start: Option<u64>) -> bool {
    match (start, proc_stat(pid)) {
        (Some(recorded), Some(now)) => recorded == now.start_time,
        (Some(_), None) => !cfg!(target_os = "linux"),
        (None, _) => true,
    }
}

fn check_working_dir(dir: &std::path::Path) -> Result<PathBuf> {
    let invalid = |message: String| Err(Error::invalid("working_dir", message));
    if dir.as_os_str().is_empty() {
        return invalid("Choose the folder the agent works in.".into());
    }
    match std::fs::metadata(dir) {
        // Without Windows' `\\?\` prefix, which programs may not take.
        Ok(metadata) if metadata.is_dir() => Ok(dunce::canonicalize(dir)?),
        Ok(_) => invalid(format!(
            "{} is a file, not a folder. Choose the folder the agent works in.",
            dir.display()
        )),
        Err(_) => invalid(format!(
            "The folder {} does not exist. Choose an existing folder.",
            dir.display()
        )),
    }
}
