//! Queries on `vaults`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::{Timestamp, Vault};
use keybearer_base::team_model::VaultTeam;

/// Each vault's credential count and latest use are kept on its row by
/// triggers (migration 0012), so a list reads the vaults alone.
/// A team vault's server comes along (migration 0015).
const SELECT: &str = "SELECT v.id, v.display_name, v.environment, v.created_at, v.updated_at,
        v.credential_count, v.last_used_at, v.team_server_id, t.name, t.address, v.team_folder
    FROM vaults v LEFT JOIN team_servers t ON t.id = v.team_server_id";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Vault> {
    Ok(Vault {
        id: row.get(0)?,
        display_name: row.get(1)?,
        environment: row.get(2)?,
        created_at: Timestamp(row.get(3)?),
        updated_at: Timestamp(row.get(4)?),
        credential_count: row.get(5)?,
        last_used_at: row.get::<_, Option<i64>>(6)?.map(Timestamp),
        team: match row.get::<_, Option<String>>(7)? {
            Some(server_id) => Some(VaultTeam {
                server_id,
                server_name: row.get(8)?,
                server_address: row.get(9)?,
                folder: row.get::<_, Option<String>>(10)?.unwrap_or_default(),
            }),
            None => None,
        },
    })
}

pub(crate) fn insert(conn: &Connection, vault: &Vault) -> Result<()> {
    conn.execute(
        "INSERT INTO vaults (id, display_name, environment, created_at, updated_at,
                             team_server_id, team_folder)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            vault.id,
            vault.display_name,
            vault.environment,
            vault.created_at.0,
            vault.updated_at.0,
            vault.team.as_ref().map(|team| &team.server_id),
            vault.team.as_ref().map(|team| &team.folder),
        ],
    )?;
    Ok(())
}

pub(crate) fn list(conn: &Connection, environment: Option<&str>) -> Result<Vec<Vault>> {
    let mut statement = conn.prepare_cached(&format!(
        "{SELECT} WHERE ?1 IS NULL OR v.environment = ?1
         ORDER BY v.display_name COLLATE NOCASE, v.id"
    ))?;
    let rows = statement.query_map([environment], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Vaults whose name, or one of whose credentials' server URL, contains
/// `text` (ASCII case ignored; `%`, `_` and `\` match themselves).
pub(crate) fn search(conn: &Connection, text: &str) -> Result<Vec<Vault>> {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    let mut statement = conn.prepare_cached(&format!(
        "{SELECT} WHERE v.display_name LIKE ?1 ESCAPE '\\'
            OR EXISTS (SELECT 1 FROM credentials c
                       WHERE c.vault_id = v.id AND c.mcp_server_url LIKE ?1 ESCAPE '\\')
         ORDER BY v.display_name COLLATE NOCASE, v.id"
    ))?;
    let rows = statement.query_map([pattern], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Vault> {
    conn.prepare_cached(&format!("{SELECT} WHERE v.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("vault", id))
}

pub(crate) fn find_by_name(conn: &Connection, name: &str) -> Result<Vec<Vault>> {
    let mut statement = conn.prepare_cached(&format!("{SELECT} WHERE v.display_name = ?1"))?;
    let rows = statement.query_map([name], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A vault by id (`vlt_…`, a team vault's `tvl_…`) or by its exact
/// display name; several vaults of that name (in different environments)
/// are ambiguous.
pub(crate) fn find(conn: &Connection, id_or_name: &str) -> Result<Vault> {
    let key = id_or_name.trim();
    if key.starts_with("vlt_") || key.starts_with("tvl_") {
        return get(conn, key);
    }
    let mut matches = find_by_name(conn, key)?;
    match matches.len() {
        0 => Err(Error::not_found("vault", key)),
        1 => Ok(matches.remove(0)),
        _ => Err(Error::AmbiguousName(key.to_string())),
    }
}

/// Whether another vault of `environment` already has this name, ignoring
/// ASCII case ("GitHub" and "github" would be confused). `except` is the
/// vault being renamed.
pub(crate) fn name_taken(
    conn: &Connection,
    environment: &str,
    name: &str,
    except: Option<&str>,
) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM vaults WHERE environment = ?1
            AND lower(display_name) = lower(?2) AND id IS NOT ?3)",
        rusqlite::params![environment, name, except],
        |row| row.get(0),
    )?)
}

pub(crate) fn rename(conn: &Connection, id: &str, name: &str, at: Timestamp) -> Result<()> {
    let changed = conn.execute(
        "UPDATE vaults SET display_name = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, name, at.0],
    )?;
    if changed == 0 {
        return Err(Error::not_found("vault", id));
    }
    Ok(())
}

pub fn touch(conn: &Connection, id: &str, at: Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE vaults SET updated_at = ?2 WHERE id = ?1",
        params![id, at.0],
    )?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    if conn.execute("DELETE FROM vaults WHERE id = ?1", [id])? == 0 {
        return Err(Error::not_found("vault", id));
    }
    Ok(())
}

pub(crate) fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM vaults", [], |row| row.get(0))?)
}
