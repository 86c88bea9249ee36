//! Queries on `events`, the audit trail.

use rusqlite::{params, Connection, Row};

use crate::audit::EventKind;
use crate::error::Result;
use crate::model::{Event, Timestamp};

/// What happened; every field but `kind` is optional. Never put a secret here.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: EventKind,
    /// When it happened; `None` = now.
    pub at: Option<Timestamp>,
    pub environment: Option<&'a str>,
    pub vault_id: Option<&'a str>,
    pub credential_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    /// The app connection (bridge) it concerns.
    pub connection_id: Option<&'a str>,
    pub upstream_url: Option<&'a str>,
    pub method: Option<&'a str>,
    pub status: Option<i64>,
    pub detail: Option<&'a str>,
}

impl<'a> NewEvent<'a> {
    /// An event of `kind` with no other facts yet; set the fields that apply.
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            at: None,
            environment: None,
            vault_id: None,
            credential_id: None,
            session_id: None,
            connection_id: None,
            upstream_url: None,
            method: None,
            status: None,
            detail: None,
        }
    }
}

pub fn insert(conn: &Connection, event: &NewEvent<'_>) -> Result<()> {
    insert_counted(conn, event, 1)
}

/// An event that stands for `count` alike happenings (the proxy's counted
/// credential uses).
pub(crate) fn insert_counted(conn: &Connection, event: &NewEvent<'_>, count: u32) -> Result<()> {
    // Cached: the audit writers insert many of these per batch.
    conn.prepare_cached(
        "INSERT INTO events (at, kind, environment, vault_id, credential_id, session_id,
                             upstream_url, method, status, detail, connection_id, count)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        event.at.unwrap_or_else(Timestamp::now).0,
        event.kind,
        event.environment,
        event.vault_id,
        event.credential_id,
        event.session_id,
        event.upstream_url,
        event.method,
        event.status,
        event.detail,
        event.connection_id,
        count
    ])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: row.get(0)?,
        at: Timestamp(row.get(1)?),
        kind: row.get(2)?,
        environment: row.get(3)?,
        vault_id: row.get(4)?,
        credential_id: row.get(5)?,
        session_id: row.get(6)?,
        upstream_url: row.get(7)?,
        method: row.get(8)?,
        status: row.get(9)?,
        detail: row.get(10)?,
        connection_id: row.get(11)?,
        count: row.get(12)?,
    })
}

/// Newest first.
pub(crate) fn list(conn: &Connection, vault_id: Option<&str>, limit: u32) -> Result<Vec<Event>> {
    let mut statement = conn.prepare(
        "SELECT id, at, kind, environment, vault_id, credential_id, session_id,
                upstream_url, method, status, detail, connection_id, count
         FROM events WHERE ?1 IS NULL OR vault_id = ?1
         ORDER BY at DESC, id DESC LIMIT ?2",
    )?;
    let rows = statement.query_map(params![vault_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
