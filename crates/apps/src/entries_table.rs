//! Queries on `connection_entries` (migration 0013): the entries Keybearer
//! wrote for a connection, by name.

use rusqlite::{params, Connection};

use keybearer_base::error::Result;

/// One entry Keybearer wrote: its name, the server it bridges, the program
/// it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrittenEntry {
    pub(crate) name: String,
    pub(crate) server_url: String,
    pub(crate) command: String,
}

pub(crate) fn list(conn: &Connection, connection_id: &str) -> Result<Vec<WrittenEntry>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, server_url, command FROM connection_entries
         WHERE connection_id = ?1 ORDER BY name",
    )?;
    let rows = statement.query_map([connection_id], |row| {
        Ok(WrittenEntry {
            name: row.get(0)?,
            server_url: row.get(1)?,
            command: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Replaces the connection's entries with `entries`.
pub(crate) fn set(conn: &Connection, connection_id: &str, entries: &[WrittenEntry]) -> Result<()> {
    conn.execute(
        "DELETE FROM connection_entries WHERE connection_id = ?1",
        [connection_id],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT OR REPLACE INTO connection_entries (connection_id, name, server_url, command)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for entry in entries {
        insert.execute(params![
            connection_id,
            entry.name,
            entry.server_url,
            entry.command
        ])?;
    }
    Ok(())
}
