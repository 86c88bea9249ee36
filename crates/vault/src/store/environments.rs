//! Queries on `environments`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::Result;
use crate::model::{Environment, Timestamp};

const SELECT: &str = "SELECT e.name, e.colour, e.created_at,
        (SELECT COUNT(*) FROM vaults v WHERE v.environment = e.name)
    FROM environments e";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Environment> {
    Ok(Environment {
        name: row.get(0)?,
        colour: row.get(1)?,
        created_at: Timestamp(row.get(2)?),
        vault_count: row.get(3)?,
    })
}

/// Built-in environments first in their natural order, then the user's, by name.
pub(crate) fn list(conn: &Connection) -> Result<Vec<Environment>> {
    let mut statement = conn.prepare(&format!(
        "{SELECT} ORDER BY CASE e.name WHEN 'development' THEN 0 WHEN 'staging' THEN 1
                                      WHEN 'production' THEN 2 ELSE 3 END, e.name"
    ))?;
    let rows = statement.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get(conn: &Connection, name: &str) -> Result<Option<Environment>> {
    Ok(conn
        .query_row(&format!("{SELECT} WHERE e.name = ?1"), [name], from_row)
        .optional()?)
}

pub(crate) fn insert(conn: &Connection, name: &str, colour: &str, at: Timestamp) -> Result<()> {
    conn.execute(
        "INSERT INTO environments (name, colour, created_at) VALUES (?1, ?2, ?3)",
        params![name, colour, at.0],
    )?;
    Ok(())
}
