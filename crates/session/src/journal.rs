//! Recording sessions: the `sessions` row and the audit events
//! (`session.started`, `session.exited`, `session.stopped`, `session.failed`),
//! one event per linked vault so each vault's history shows the sessions
//! that used it. Uses its own database connection, so the threads that wait
//! for agents can record their end without holding the engine.

use std::path::Path;
use std::sync::Mutex;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::Timestamp;
use keybearer_vault::beside::events::{self, NewEvent};
use keybearer_vault::beside::Store;
use keybearer_vault::EventKind;

use super::rows as sessions;

use super::model::{Session, SessionState};

pub(crate) struct Journal {
    store: Mutex<Store>,
}

impl Journal {
    pub(crate) fn open(data_dir: &Path) -> Result<Self> {
        Ok(Self {
            store: Mutex::new(Store::open(data_dir)?),
        })
    }

    fn with_store<T>(&self, job: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut store = self
            .store
            .lock()
            .map_err(|_| Error::Io(std::io::Error::other("session journal lock poisoned")))?;
        job(&mut store)
    }

    pub(crate) fn starting(&self, session: &Session, private_dir: Option<&str>) -> Result<()> {
        let owner = std::process::id();
        let owner_start = super::process::proc_stat(owner).map(|stat| stat.start_time);
        self.with_store(|store| {
            sessions::insert(store.conn(), session, (owner, owner_start), private_dir)
        })
    }

    pub(crate) fn running(&self, session: &Session, process_start: Option<u64>) -> Result<()> {
        let pid = session.pid.unwrap_or_default();
        let detail = format!(
            "{} agent, {} mode, pid {pid}",
            session.agent,
            session.injection.as_str()
        );
        self.with_store(|store| {
            let tx = store.write()?;
            sessions::mark_running(&tx, &session.id, pid, process_start)?;
            record_events(&tx, session, EventKind::SessionStarted, None, &detail)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Records how the session ended, once; later calls change nothing.
    pub(crate) fn finished(&self, session: &Session) -> Result<()> {
        let (kind, status, detail) = describe_end(session);
        self.with_store(|store| {
            let tx = store.write()?;
            let at = session.ended_at.unwrap_or_else(Timestamp::now);
            if sessions::finish(&tx, &session.id, &session.state, session.signal, at)? {
                record_events(&tx, session, kind, status, &detail)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    pub(crate) fn request_stop(&self, id: &str) -> Result<()> {
        self.with_store(|store| sessions::request_stop(store.conn(), id, Timestamp::now()))
    }

    /// Whether another process asked (through the database) to stop the session.
    pub(crate) fn stop_requested(&self, id: &str) -> bool {
        self.with_store(|store| sessions::get(store.conn(), id))
            .map(|row| row.stop_requested)
            .unwrap_or(false)
    }
}

pub(crate) fn describe_end(session: &Session) -> (EventKind, Option<i64>, String) {
    let signal = session
        .signal
        .map(|s| format!(" (signal {})", signal_name(s)))
        .unwrap_or_default();
    match &session.state {
        SessionState::Exited { code } => (
            EventKind::SessionExited,
            Some(i64::from(*code)),
            format!("exited with code {code}"),
        ),
        SessionState::Stopped => (EventKind::SessionStopped, None, format!("stopped{signal}")),
        SessionState::Failed { reason } if session.pid.is_none() => {
            (EventKind::SessionFailed, None, reason.clone())
        }
        SessionState::Failed { reason } => (EventKind::SessionExited, None, reason.clone()),
        SessionState::Starting | SessionState::Running => {
            (EventKind::SessionExited, None, "ended".to_string())
        }
    }
}

pub(crate) fn signal_name(signal: i32) -> String {
    #[cfg(unix)]
    {
        nix::sys::signal::Signal::try_from(signal)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| signal.to_string())
    }
    // No signals on Windows; a number from elsewhere stays a number.
    #[cfg(not(unix))]
    {
        signal.to_string()
    }
}

pub(crate) fn record_events(
    conn: &rusqlite::Connection,
    session: &Session,
    kind: EventKind,
    status: Option<i64>,
    detail: &str,
) -> Result<()> {
    for vault_id in &session.vault_ids {
        events::insert(
            conn,
            &NewEvent {
                environment: Some(&session.environment),
                vault_id: Some(vault_id),
                session_id: Some(&session.id),
                status,
                detail: Some(detail),
                ..NewEvent::new(kind)
            },
        )?;
    }
    Ok(())
}
