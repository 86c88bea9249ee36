//! Queries on `connections` and `connection_vaults` (migration 0005).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::{AppConnection, Timestamp};

const SELECT: &str =
    "SELECT id, app, environment, config_path, created_at, updated_at, last_used_at
    FROM connections";

fn from_row(row: &Row<'_>) -> rusqlite::Result<AppConnection> {
    Ok(AppConnection {
        id: row.get(0)?,
        app: row.get(1)?,
        environment: row.get(2)?,
        config_path: row.get(3)?,
        created_at: Timestamp(row.get(4)?),
        updated_at: Timestamp(row.get(5)?),
        last_used_at: row.get::<_, Option<i64>>(6)?.map(Timestamp),
        vault_ids: Vec::new(),
    })
}

fn with_vaults(conn: &Connection, mut connection: AppConnection) -> Result<AppConnection> {
    connection.vault_ids = vault_ids(conn, &connection.id)?;
    Ok(connection)
}

/// The connection's vaults, first (winning) first.
pub(crate) fn vault_ids(conn: &Connection, connection_id: &str) -> Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT vault_id FROM connection_vaults WHERE connection_id = ?1 ORDER BY position",
    )?;
    let rows = statement.query_map([connection_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<AppConnection>> {
    let mut statement = conn.prepare(&format!("{SELECT} ORDER BY app"))?;
    let rows = statement.query_map([], from_row)?;
    let bare: Vec<AppConnection> = rows.collect::<rusqlite::Result<_>>()?;
    bare.into_iter().map(|c| with_vaults(conn, c)).collect()
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<AppConnection> {
    let bare = conn
        .query_row(&format!("{SELECT} WHERE id = ?1"), [id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("connection", id))?;
    with_vaults(conn, bare)
}

pub(crate) fn find_by_app(conn: &Connection, app: &str) -> Result<Option<AppConnection>> {
    let bare = conn
        .query_row(&format!("{SELECT} WHERE app = ?1"), [app], from_row)
        .optional()?;
    bare.map(|c| with_vaults(conn, c)).transpose()
}

pub(crate) fn insert(conn: &Connection, connection: &AppConnection) -> Result<()> {
    conn.execute(
        "INSERT INTO connections (id, app, environment, config_path, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            connection.id,
            connection.app,
            connection.environment,
            connection.config_path,
            connection.created_at.0,
            connection.updated_at.0
        ],
    )?;
    set_vaults(conn, &connection.id, &connection.vault_ids)
}

/// Replaces the connection's environment and vaults (in order).
pub(crate) fn update(
    conn: &Connection,
    id: &str,
    environment: &str,
    vault_ids: &[String],
) -> Result<()> {
    conn.execute(
        "UPDATE connections SET environment = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, environment, Timestamp::now().0],
    )?;
    set_vaults(conn, id, vault_ids)
}

fn set_vaults(conn: &Connection, id: &str, vault_ids: &[String]) -> Result<()> {
    conn.execute(
        "DELETE FROM connection_vaults WHERE connection_id = ?1",
        [id],
    )?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO connection_vaults (connection_id, position, vault_id) VALUES (?1, ?2, ?3)",
    )?;
    for (position, vault_id) in vault_ids.iter().enumerate() {
        insert.execute(params![id, position as i64, vault_id])?;
    }
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    let removed = conn.execute("DELETE FROM connections WHERE id = ?1", [id])?;
    if removed == 0 {
        return Err(Error::not_found("connection", id));
    }
    Ok(())
}

/// "Last used": only ever moves forward.
pub(crate) fn mark_used(conn: &Connection, id: &str, at: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "UPDATE connections SET last_used_at = ?2
         WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
    )?
    .execute(params![id, at.0])?;
    Ok(())
}
