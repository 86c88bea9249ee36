//! Queries on `app_backups` (migration 0006): sealed copies of app settings
//! files as they were before an import.

use rusqlite::{params, Connection, OptionalExtension};

use keybearer_base::error::Result;
use keybearer_base::model::Timestamp;

pub(crate) struct Backup {
    pub(crate) id: String,
    pub(crate) app: String,
    pub(crate) config_path: String,
    pub(crate) sealed_text: Vec<u8>,
    pub(crate) created_connection: bool,
    pub(crate) created_at: Timestamp,
}

/// Keeps `backup` as the app's only one.
pub(crate) fn replace(conn: &Connection, backup: &Backup) -> Result<()> {
    conn.execute("DELETE FROM app_backups WHERE app = ?1", [&backup.app])?;
    conn.execute(
        "INSERT INTO app_backups (id, app, config_path, sealed_text, created_connection, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            backup.id,
            backup.app,
            backup.config_path,
            backup.sealed_text,
            backup.created_connection,
            backup.created_at.0
        ],
    )?;
    Ok(())
}

pub(crate) fn latest(conn: &Connection, app: &str) -> Result<Option<Backup>> {
    Ok(conn
        .query_row(
            "SELECT id, app, config_path, sealed_text, created_connection, created_at
             FROM app_backups WHERE app = ?1 ORDER BY created_at DESC LIMIT 1",
            [app],
            |row| {
                Ok(Backup {
                    id: row.get(0)?,
                    app: row.get(1)?,
                    config_path: row.get(2)?,
                    sealed_text: row.get(3)?,
                    created_connection: row.get(4)?,
                    created_at: Timestamp(row.get(5)?),
                })
            },
        )
        .optional()?)
}

/// Whether the app has a kept copy (without reading it).
pub(crate) fn exists(conn: &Connection, app: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM app_backups WHERE app = ?1)",
        [app],
        |row| row.get(0),
    )?)
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("DELETE FROM app_backups WHERE id = ?1", [id])?;
    Ok(())
}
