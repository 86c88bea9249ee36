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
    (
        7,
        include_str!("../../migrations/0007_credential_kinds.sql"),
    ),
    (8, include_str!("../../migrations/0008_sign_in_state.sql")),
    (9, include_str!("../../migrations/0009_wanted_scope.sql")),
    (
        10,
        include_str!("../../migrations/0010_vault_list_index.sql"),
    ),
    (11, include_str!("../../migrations/0011_event_counts.sql")),
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

    /// 0007 rebuilds `credentials`: rows, their sealed bytes, the cascade
    /// from vaults and the catalog triggers all survive.
    #[test]
    fn credential_kinds_keep_existing_credentials() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
        migrate_to(&mut conn, 6).expect("to 6");
        conn.execute_batch(
            "INSERT INTO vaults VALUES ('vlt_a', 'A', 'development', 1, 1);
             INSERT INTO credentials VALUES ('cred_a', 'vlt_a', 'https://a.example/mcp',
                 'sse', 'static_bearer', x'0102', 5, 7);",
        )
        .expect("data");
        migrate_to(&mut conn, 7).expect("to 7");
        let row: (String, String, String, Vec<u8>, i64, Option<i64>) = conn
            .query_row(
                "SELECT protocol, type, header_names, sealed_token, created_at, last_used_at
                 FROM credentials WHERE id = 'cred_a'",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .expect("row");
        assert_eq!(
            row,
            (
                "sse".into(),
                "static_bearer".into(),
                "[\"Authorization\"]".into(),
                vec![1, 2],
                5,
                Some(7)
            )
        );
        let version = |conn: &Connection| -> i64 {
            conn.query_row("SELECT version FROM catalog_version", [], |r| r.get(0))
                .expect("version")
        };
        let before = version(&conn);
        conn.execute("DELETE FROM vaults WHERE id = 'vlt_a'", [])
            .expect("delete");
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM credentials", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0, "the cascade from vaults survives the rebuild");
        assert!(version(&conn) > before, "the triggers survive the rebuild");
    }
}
