//! Queries on `credentials`. The sealed token is read only by `get_sealed`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::{Credential, CredentialType, Protocol, Timestamp};

const COLUMNS: &str = "id, vault_id, mcp_server_url, protocol, created_at, last_used_at, type, \
     header_names, needs_sign_in, wanted_scope";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Credential> {
    let protocol: String = row.get(3)?;
    let kind: String = row.get(6)?;
    let credential_type = match kind.as_str() {
        "static_bearer" => CredentialType::StaticBearer,
        "headers" => CredentialType::Headers,
        "mcp_oauth" => CredentialType::McpOauth,
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("a credential of kind \"{other}\" needs a newer Keybearer").into(),
            ))
        }
    };
    let names: String = row.get(7)?;
    Ok(Credential {
        id: row.get(0)?,
        vault_id: row.get(1)?,
        mcp_server_url: row.get(2)?,
        // The CHECK constraint only admits these two values.
        protocol: if protocol == "sse" {
            Protocol::Sse
        } else {
            Protocol::StreamableHttp
        },
        credential_type,
        header_names: serde_json::from_str(&names).unwrap_or_default(),
        needs_sign_in: row.get::<_, i64>(8)? != 0,
        wanted_scope: row.get(9)?,
        created_at: Timestamp(row.get(4)?),
        last_used_at: row.get::<_, Option<i64>>(5)?.map(Timestamp),
    })
}

pub(crate) fn insert(
    conn: &Connection,
    credential: &Credential,
    sealed_token: &[u8],
) -> Result<()> {
    let inserted = conn.execute(
        "INSERT INTO credentials (id, vault_id, mcp_server_url, protocol, type, sealed_token, created_at, header_names)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            credential.id,
            credential.vault_id,
            credential.mcp_server_url,
            credential.protocol.as_str(),
            credential.credential_type.as_str(),
            sealed_token,
            credential.created_at.0,
            serde_json::to_string(&credential.header_names).unwrap_or_else(|_| "[]".into())
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Err(Error::DuplicateUrl {
                url: credential.mcp_server_url.clone(),
            })
        }
        Err(other) => Err(other.into()),
    }
}

pub(crate) fn list(conn: &Connection, vault_id: &str) -> Result<Vec<Credential>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM credentials WHERE vault_id = ?1 ORDER BY mcp_server_url, id"
    ))?;
    let rows = statement.query_map([vault_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Credential> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM credentials WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("credential", id))
}

pub(crate) fn find_by_url(
    conn: &Connection,
    vault_id: &str,
    url: &str,
) -> Result<Option<Credential>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM credentials WHERE vault_id = ?1 AND mcp_server_url = ?2"
        ))?
        .query_row([vault_id, url], from_row)
        .optional()?)
}

pub(crate) fn get_sealed(conn: &Connection, id: &str) -> Result<(Credential, Vec<u8>)> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, sealed_token FROM credentials WHERE id = ?1"
    ))?
    .query_row([id], |row| Ok((from_row(row)?, row.get("sealed_token")?)))
    .optional()?
    .ok_or_else(|| Error::not_found("credential", id))
}

pub(crate) fn all_ids(conn: &Connection, vault_id: Option<&str>) -> Result<Vec<String>> {
    let mut statement =
        conn.prepare("SELECT id FROM credentials WHERE ?1 IS NULL OR vault_id = ?1 ORDER BY id")?;
    let rows = statement.query_map([vault_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    if conn.execute("DELETE FROM credentials WHERE id = ?1", [id])? == 0 {
        return Err(Error::not_found("credential", id));
    }
    Ok(())
}

/// A refreshed OAuth grant, sealed; clears "sign in again".
pub(crate) fn update_sealed(conn: &Connection, id: &str, sealed: &[u8]) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET sealed_token = ?2, needs_sign_in = 0 WHERE id = ?1",
        params![id, sealed],
    )?;
    Ok(())
}

pub(crate) fn mark_needs_sign_in(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET needs_sign_in = 1 WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// The scopes the next sign-in should ask for (after a 403 step-up request).
pub(crate) fn set_wanted_scope(conn: &Connection, id: &str, scope: &str) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET wanted_scope = ?2 WHERE id = ?1",
        params![id, scope],
    )?;
    Ok(())
}

pub(crate) fn mark_used(conn: &Connection, id: &str, at: Timestamp) -> Result<()> {
    conn.execute(
        "UPDATE credentials SET last_used_at = ?2 WHERE id = ?1",
        params![id, at.0],
    )?;
    Ok(())
}

pub(crate) fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM credentials", [], |row| row.get(0))?)
}
