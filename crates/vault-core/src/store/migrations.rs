//! Embedded, ordered schema migrations, each applied in one transaction with
//! its version recorded in `schema_migrations`.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::Timestamp;

pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/0001_vaults_and_credentials.sql"),
    ),
    (2, include_str!("../../migrations/0002_audit_events.sql")),
    (3, include_str!("../../migrations/0003_sessions.sql")),
    (4, include_str!("../../migrations/0004_catalog_version.sql")),
    (5, include_str!("../../migrations/0005_app_connections.sql")),
    (6, include_str!("../../migrations/0006_app_backups.sql")),
];

pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         ) STRICT;",
    )?;
    let version: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    Ok(version.unwrap_or(0))
}

/// Brings the schema up to `target`. Refuses a database from a newer version
/// rather than guessing at it.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let current = current_version(conn)?;
    let supported = latest_version();
    if current > supported {
        return Err(Error::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (version, sql) in MIGRATIONS
        .iter()
        .filter(|(version, _)| *version > current && *version <= target)
    {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, Timestamp::now().0],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ordered_and_unique() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, expected);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate_to(&mut conn, latest_version()).expect("first");
        migrate_to(&mut conn, latest_version()).expect("second");
        assert_eq!(current_version(&conn).expect("version"), latest_version());
    }
}
