//! Queries on `meta`: small named settings and key material.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;

pub(crate) const INSTALL_ID: &str = "install_id";
pub(crate) const KEY_PROTECTION: &str = "key_protection";
pub(crate) const KEY_CHECK: &str = "key_check";
pub(crate) const RECOVERY_WRAPPED_KEY: &str = "recovery_wrapped_key";
pub(crate) const PASSPHRASE_WRAPPED_KEY: &str = "passphrase_wrapped_key";
pub(crate) const PASSPHRASE_SALT: &str = "passphrase_salt";
pub(crate) const PASSPHRASE_PARAMS: &str = "passphrase_params";
pub(crate) const ACTIVE_ENVIRONMENT: &str = "active_environment";
/// The MCP Registry's address (`known_servers`); absent: the official one.
pub(crate) const SERVER_REGISTRY: &str = "server_registry";

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub(crate) fn get_text(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(get(conn, key)?.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

pub(crate) fn set(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, key: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}
