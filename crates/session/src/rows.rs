//! Queries on `sessions`, the table the session part owns (the store knows
//! nothing of sessions; docs/architecture.md, "Sessions").

use std::path::PathBuf;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::model::{AgentKind, InjectionMode, Session, SessionState};
use keybearer_base::error::{Error, Result};
use keybearer_base::model::Timestamp;

/// A session row with the bookkeeping that only the engine needs.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub(crate) session: Session,
    pub(crate) owner_pid: u32,
    pub(crate) owner_start: Option<u64>,
    pub(crate) process_start: Option<u64>,
    pub(crate) private_dir: Option<PathBuf>,
    pub(crate) stop_requested: bool,
}

const COLUMNS: &str = "id, vault_ids, environment, agent, program, working_dir, injection_mode,
    status, exit_code, signal, reason, owner_pid, pid, process_start, private_dir,
    stop_requested_at, started_at, ended_at, owner_start";

fn from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let vault_ids: String = row.get(1)?;
    let agent: String = row.get(3)?;
    let injection: String = row.get(6)?;
    let status: String = row.get(7)?;
    let exit_code: Option<i32> = row.get(8)?;
    let reason: Option<String> = row.get(10)?;
    let state = match status.as_str() {
        "starting" => SessionState::Starting,
        "running" => SessionState::Running,
        "exited" => SessionState::Exited {
            code: exit_code.unwrap_or_default(),
        },
        "stopped" => SessionState::Stopped,
        _ => SessionState::Failed {
            reason: reason.unwrap_or_default(),
        },
    };
    let working_dir: String = row.get(5)?;
    Ok(SessionRow {
        session: Session {
            id: row.get(0)?,
            vault_ids: serde_json::from_str(&vault_ids).unwrap_or_default(),
            environment: row.get(2)?,
            // CHECK constraints only admit these values.
            agent: match agent.as_str() {
                "claude" => AgentKind::Claude,
                "codex" => AgentKind::Codex,
                _ => AgentKind::Custom,
            },
            program: row.get(4)?,
            working_dir: PathBuf::from(working_dir),
            injection: if injection == "direct" {
                InjectionMode::Direct
            } else {
                InjectionMode::Proxy
            },
            state,
            signal: row.get(9)?,
            pid: row.get(12)?,
            started_at: Timestamp(row.get(16)?),
            ended_at: row.get::<_, Option<i64>>(17)?.map(Timestamp),
        },
        owner_pid: row.get(11)?,
        owner_start: row
            .get::<_, Option<i64>>(18)?
            .and_then(|t| u64::try_from(t).ok()),
        process_start: row
            .get::<_, Option<i64>>(13)?
            .and_then(|t| u64::try_from(t).ok()),
        private_dir: row.get::<_, Option<String>>(14)?.map(PathBuf::from),
        stop_requested: row.get::<_, Option<i64>>(15)?.is_some(),
    })
}

pub(crate) fn insert(
    conn: &Connection,
    session: &Session,
    owner: (u32, Option<u64>),
    private_dir: Option<&str>,
) -> Result<()> {
    let vault_ids = serde_json::to_string(&session.vault_ids)
        .map_err(|error| Error::Io(std::io::Error::other(error)))?;
    conn.execute(
        "INSERT INTO sessions (id, vault_ids, environment, agent, program, working_dir,
                               injection_mode, status, owner_pid, owner_start, private_dir,
                               started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            session.id,
            vault_ids,
            session.environment,
            session.agent.as_str(),
            session.program,
            session.working_dir.to_string_lossy(),
            session.injection.as_str(),
            session.state.status(),
            owner.0,
            owner.1.and_then(|t| i64::try_from(t).ok()),
            private_dir,
            session.started_at.0
        ],
    )?;
    Ok(())
}

pub(crate) fn mark_running(
    conn: &Connection,
    id: &str,
    pid: u32,
    process_start: Option<u64>,
) -> Result<()> {
    conn.execute(
        "UPDATE sessions SET status = 'running', pid = ?2, process_start = ?3 WHERE id = ?1",
        params![id, pid, process_start.and_then(|t| i64::try_from(t).ok())],
    )?;
    Ok(())
}

/// Records the end once: a row that already ended keeps its first ending.
pub(crate) fn finish(
    conn: &Connection,
    id: &str,
    state: &SessionState,
    signal: Option<i32>,
    at: Timestamp,
) -> Result<bool> {
    let (code, reason) = match state {
        SessionState::Exited { code } => (Some(*code), None),
        SessionState::Failed { reason } => (None, Some(reason.as_str())),
        _ => (None, None),
    };
    let changed = conn.execute(
        "UPDATE sessions SET status = ?2, exit_code = ?3, signal = ?4, reason = ?5, ended_at = ?6
         WHERE id = ?1 AND status IN ('starting', 'running')",
        params![id, state.status(), code, signal, reason, at.0],
    )?;
    Ok(changed == 1)
}

pub(crate) fn request_stop(conn: &Connection, id: &str, at: Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE sessions SET stop_requested_at = ?2 WHERE id = ?1 AND stop_requested_at IS NULL",
        params![id, at.0],
    )?;
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<SessionRow> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM sessions WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| Error::not_found("session", id))
}

/// Newest first.
pub(crate) fn list(conn: &Connection, limit: u32) -> Result<Vec<SessionRow>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM sessions ORDER BY started_at DESC, id DESC LIMIT ?1"
    ))?;
    let rows = statement.query_map([limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sessions still recorded as starting or running.
pub(crate) fn list_active(conn: &Connection) -> Result<Vec<SessionRow>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE status IN ('starting', 'running')"
    ))?;
    let rows = statement.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
