//! `SessionManager`: owns the running sessions of this process. Starts them,
//! lists them, stops one, and on `shutdown` (or drop) stops all of them and
//! removes their private folders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::endpoint::{validate_endpoints, McpEndpoint};
use super::journal::{signal_name, Journal};
use super::launch;
use super::model::{Session, SessionState};
use super::private_dir::{self, PrivateDir};
use super::process::{self, Exit, Spawned, Terminal, Tree};
use super::pty::SessionPty;
use super::records::PreparedSession;
use keybearer_base::error::{Error, Result};
use keybearer_base::model::Timestamp;
use keybearer_vault::Engine;

/// How long Stop waits after SIGTERM before it sends SIGKILL.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(3);
/// How long to wait for the waiting thread to record the end after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(15);

/// A session that was just started.
#[derive(Debug)]
pub struct StartedSession {
    pub session: Session,
    /// The agent's terminal, for [`Terminal::Pty`] sessions.
    pub pty: Option<SessionPty>,
}

pub struct SessionManager {
    journal: Arc<Journal>,
    /// Keybearer's data folder, hidden from sandboxed agents.
    data_dir: std::path::PathBuf,
    sessions: Mutex<HashMap<String, Arc<Live>>>,
    grace: Duration,
}

struct Live {
    /// The agent's processes (Unix: its process group; Windows: its job).
    tree: Tree,
    state: Mutex<Session>,
    ended: Condvar,
    stop_requested: AtomicBool,
    pty: Option<SessionPty>,
    waiter: Mutex<Option<JoinHandle<()>>>,
}

impl Live {
    fn snapshot(&self) -> Session {
        lock(&self.state).clone()
    }

    fn is_finished(&self) -> bool {
        !lock(&self.state).state.is_active()
    }

    /// Waits until the session ended, at most `limit` (forever if `None`).
    fn wait_end(&self, limit: Option<Duration>) -> Option<Session> {
        let deadline = limit.map(|limit| Instant::now() + limit);
        let mut guard = lock(&self.state);
        while guard.state.is_active() {
            match deadline {
                None => {
                    guard = self
                        .ended
                        .wait(guard)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    guard = self
                        .ended
                        .wait_timeout(guard, left)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
        Some(guard.clone())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionManager")
            .field("sessions", &lock(&self.sessions).len())
            .field("grace", &self.grace)
            .finish()
    }
}

impl SessionManager {
    /// A manager recording into `engine`'s database (over its own connection).
    pub fn new(engine: &Engine) -> Result<Self> {
        Ok(Self {
            journal: Arc::new(Journal::open(engine.data_dir())?),
            data_dir: engine.data_dir().to_path_buf(),
            sessions: Mutex::new(HashMap::new()),
            grace: DEFAULT_STOP_GRACE,
        })
    }

    /// Changes how long Stop waits between SIGTERM and SIGKILL.
    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Starts the agent of a prepared session with `endpoints` configured:
    /// the proxy's listeners (proxy mode) or [`super::direct_endpoints`]
    /// (direct mode). Returns once the agent runs.
    pub fn start(
        &self,
        prepared: PreparedSession,
        endpoints: Vec<McpEndpoint>,
        terminal: Terminal,
    ) -> Result<StartedSession> {
        self.start_with(prepared, endpoints, terminal, Box::new(()))
    }

    /// Like [`SessionManager::start`], keeping `resources` alive exactly as
    /// long as the agent: they are dropped as soon as it has ended (or if it
    /// fails to start). The proxy hands its per-session listeners here, so
    /// they close and the session secret dies with the session.
    pub fn start_with(
        &self,
        prepared: PreparedSession,
        endpoints: Vec<McpEndpoint>,
        terminal: Terminal,
        resources: Box<dyn Send>,
    ) -> Result<StartedSession> {
        validate_endpoints(&endpoints)?;
        if lock(&self.sessions).contains_key(&prepared.id) {
            return Err(Error::invalid(
                "session",
                "This session was already started; prepare a new one.",
            ));
        }
        let mut dir =
            PrivateDir::create(&private_dir::parent_folder(&self.data_dir), &prepared.id)?;
        #[cfg_attr(not(any(target_os = "linux", target_os = "macos")), allow(unused_mut))]
        let mut plan = launch::plan(
            &prepared.id,
            &prepared.agent,
            prepared.program.clone(),
            &endpoints,
            &dir,
            keybearer_bridge::program().ok().as_deref(),
        )?;
        if let Some(sandbox) = &prepared.sandbox {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            let spec = super::sandbox_folders::Spec {
                data_dir: &self.data_dir,
                private_dir: dir.path(),
                working_dir: &prepared.working_dir,
                agent: prepared.agent.kind(),
                writable: &sandbox.writable,
            };
            #[cfg(target_os = "linux")]
            super::sandbox::wrap(&mut plan, &spec)?;
            #[cfg(target_os = "macos")]
            super::seatbelt::wrap(&mut plan, &spec)?;
            // No sandbox here, so no sandboxed session was ever prepared.
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            match *sandbox {}
        }
        // The secrets now live in the plan (and the 0600 file) only.
        drop(endpoints);
        let mut session = Session {
            id: prepared.id.clone(),
            vault_ids: prepared.vault_ids.clone(),
            environment: prepared.environment.clone(),
            agent: prepared.agent.kind(),
            program: prepared.program.to_string_lossy().into_owned(),
            working_dir: prepared.working_dir.clone(),
            injection: prepared.injection,
            state: SessionState::Starting,
            pid: None,
            signal: None,
            started_at: Timestamp::now(),
            ended_at: None,
        };
        self.journal
            .starting(&session, dir.path().to_str())
            .inspect_err(|_| {
                let _ = dir.remove();
            })?;
        let spawned = match process::spawn(&plan, &prepared.working_dir, terminal) {
            Ok(spawned) => spawned,
            Err(error) => {
                let _ = dir.remove();
                session.state = SessionState::Failed {
                    reason: error.to_string(),
                };
                session.ended_at = Some(Timestamp::now());
                if let Err(journal_error) = self.journal.finished(&session) {
                    tracing::warn!(
                        code = %journal_error.code(),
                        "could not record a failed start"
                    );
                }
                return Err(error);
            }
        };
        drop(plan);
        let pid = spawned.pid;
        session.pid = Some(pid);
        session.state = SessionState::Running;
        let start_time = process::proc_stat(pid).map(|stat| stat.start_time);
        if let Err(error) = self.journal.running(&session, start_time) {
            // The agent runs either way; Stop and shutdown still work in this process.
            tracing::warn!(code = %error.code(), session_id = %session.id, "could not record a session start");
        }
        tracing::info!(session_id = %session.id, pid, agent = %session.agent, "session started");

        let live = Arc::new(Live {
            tree: spawned.tree.clone(),
            state: Mutex::new(session.clone()),
            ended: Condvar::new(),
            stop_requested: AtomicBool::new(false),
            pty: spawned.pty.clone(),
            waiter: Mutex::new(None),
        });
        let waiter = {
            let live = Arc::clone(&live);
            let journal = Arc::clone(&self.journal);
            let grace = self.grace;
            std::thread::Builder::new()
                .name(format!("session-{pid}"))
                .spawn(move || {
                    // The child handle lives until the agent was reaped.
                    watch(&live, &journal, spawned, dir, resources, grace);
                })
                .map_err(|error| Error::Spawn(format!("no thread to watch the agent ({error})")))
        };
        match waiter {
            Ok(handle) => *lock(&live.waiter) = Some(handle),
            Err(error) => {
                // Without a watcher nobody would reap it: end it now.
                let tree = live.tree.clone();
                tree.terminate(self.grace, || !tree.alive());
                return Err(error);
            }
        }
        let pty = live.pty.clone();
        lock(&self.sessions).insert(session.id.clone(), live);
        Ok(StartedSession { session, pty })
    }

    /// Every session this manager started, newest first.
    pub fn list(&self) -> Vec<Session> {
        let mut sessions: Vec<Session> = lock(&self.sessions)
            .values()
            .map(|live| live.snapshot())
            .collect();
        sessions.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        sessions
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        self.live(id).ok().map(|live| live.snapshot())
    }

    /// The terminal of a PTY session.
    pub fn pty(&self, id: &str) -> Option<SessionPty> {
        self.live(id).ok().and_then(|live| live.pty.clone())
    }

    fn live(&self, id: &str) -> Result<Arc<Live>> {
        lock(&self.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| Error::not_found("session", id))
    }

    /// Blocks until the session ends and returns how it ended.
    pub fn wait(&self, id: &str) -> Result<Session> {
        let live = self.live(id)?;
        Ok(live.wait_end(None).unwrap_or_else(|| live.snapshot()))
    }

    /// Like [`SessionManager::wait`], giving up after `timeout` (`None` then).
    pub fn wait_timeout(&self, id: &str, timeout: Duration) -> Result<Option<Session>> {
        Ok(self.live(id)?.wait_end(Some(timeout)))
    }

    /// Stops a session: SIGTERM to the agent's whole process group, SIGKILL
    /// after the grace period (Windows: its whole job, at once). Returns the
    /// ended session; stopping an ended session just returns it.
    pub fn stop(&self, id: &str) -> Result<Session> {
        let live = self.live(id)?;
        if live.is_finished() {
            return Ok(live.snapshot());
        }
        self.request_stop(id, &live);
        live.tree.terminate(self.grace, || live.is_finished());
        Ok(live
            .wait_end(Some(AFTER_KILL))
            .unwrap_or_else(|| live.snapshot()))
    }

    fn request_stop(&self, id: &str, live: &Live) {
        live.stop_requested.store(true, Ordering::SeqCst);
        if let Err(error) = self.journal.request_stop(id) {
            tracing::warn!(code = %error.code(), "could not record a stop request");
        }
    }

    /// Stops every running session (all at once: one grace period in total)
    /// and waits until each has ended and its private folder is gone.
    pub fn shutdown(&self) {
        let all: Vec<(String, Arc<Live>)> = lock(&self.sessions)
            .iter()
            .map(|(id, live)| (id.clone(), Arc::clone(live)))
            .collect();
        let running: Vec<&Arc<Live>> = all
            .iter()
            .filter(|(id, live)| {
                let active = !live.is_finished();
                if active {
                    self.request_stop(id, live);
                    live.tree.ask_to_end();
                }
                active
            })
            .map(|(_, live)| live)
            .collect();
        let all_done = || running.iter().all(|live| live.is_finished());
        if !process::wait_until(self.grace, all_done) {
            for live in running.iter().filter(|live| !live.is_finished()) {
                live.tree.force_end();
            }
            process::wait_until(AFTER_KILL, all_done);
        }
        for (_, live) in &all {
            if let Some(handle) = lock(&live.waiter).take() {
                if live.is_finished() {
                    let _ = handle.join();
                }
            }
        }
    }
}

impl Drop for SessionManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The watching thread: waits for the agent, ends what is left of its
/// tree, removes the private folder, closes the terminal and records the end.
fn watch(
    live: &Live,
    journal: &Journal,
    mut spawned: Spawned,
    mut dir: PrivateDir,
    resources: Box<dyn Send>,
    grace: Duration,
) {
    let id = live.snapshot().id;
    let exit = spawned.wait(&|| journal.stop_requested(&id));
    drop(resources);
    // Helpers the agent left behind in its tree go with it.
    if live.tree.alive() {
        live.tree.terminate(grace, || !live.tree.alive());
    }
    if let Err(error) = dir.remove() {
        tracing::warn!(
            code = %error.code(),
            "could not remove a session's private folder"
        );
    }
    if let Some(pty) = &live.pty {
        pty.close();
    }
    let stopped =
        live.stop_requested.load(Ordering::SeqCst) || journal.stop_requested(&live.snapshot().id);
    let mut session = live.snapshot();
    let (state, signal) = match (exit, stopped) {
        (Ok(Exit::Signal(signal)), true) => (SessionState::Stopped, Some(signal)),
        (Ok(_), true) => (SessionState::Stopped, None),
        (Ok(Exit::Code(code)), false) => (SessionState::Exited { code }, None),
        (Ok(Exit::Signal(signal)), false) => (
            SessionState::Failed {
                reason: format!("the agent was killed by signal {}", signal_name(signal)),
            },
            Some(signal),
        ),
        (Err(error), _) => (
            SessionState::Failed {
                reason: format!("lost track of the agent ({error})"),
            },
            None,
        ),
    };
    session.state = state;
    session.signal = signal;
    session.ended_at = Some(Timestamp::now());
    if let Err(error) = journal.finished(&session) {
        tracing::warn!(code = %error.code(), session_id = %session.id, "could not record a session's end");
    }
    tracing::info!(session_id = %session.id, state = %session.state, "session ended");
    *lock(&live.state) = session;
    live.ended.notify_all();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_manager_and_terminal_can_live_in_shared_app_state() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::SessionManager>();
        shareable::<super::SessionPty>();
        shareable::<super::StartedSession>();
    }
}
