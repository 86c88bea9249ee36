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
    (12, include_str!("../../migrations/0012_vault_tallies.sql")),
    (
        13,
        include_str!("../../migrations/0013_connection_entries.sql"),
    ),
    (
        14,
        include_str!("../../migrations/0014_credential_echoed.sql"),
    ),
    (15, include_str!("../../migrations/0015_backup_events.sql")),
    (16, include_str!("../../migrations/0016_team_servers.sql")),
    (
        17,
        include_str!("../../migrations/0017_team_server_reach.sql"),
    ),
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

    /// 0012: each vault's credential count and latest use are filled in
    /// for existing data and stay equal to what the credentials say through
    /// adds, uses, moves and deletes.
    #[test]
    fn vault_tallies_follow_the_credentials() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.pragma_update(None, "foreign_keys", "ON").expect("fk");
        migrate_to(&mut conn, 11).expect("to 11");
        let credential = |id: &str, vault: &str, used: &str| {
            format!(
                "INSERT INTO credentials (id, vault_id, mcp_server_url, protocol, type,
                     sealed_token, created_at, last_used_at)
                 VALUES ('{id}', '{vault}', 'https://{id}.example/mcp', 'sse',
                     'static_bearer', x'00', 1, {used});"
            )
        };
        conn.execute_batch(&format!(
            "INSERT INTO vaults (id, display_name, environment, created_at, updated_at)
                 VALUES ('vlt_a', 'A', 'development', 1, 1), ('vlt_b', 'B', 'development', 1, 1),
                        ('vlt_c', 'C', 'development', 1, 1);
             {}{}{}",
            credential("cred_1", "vlt_a", "7"),
            credential("cred_2", "vlt_a", "NULL"),
            credential("cred_3", "vlt_b", "NULL"),
        ))
        .expect("data");
        migrate_to(&mut conn, 12).expect("to 12");
        let tallies = |conn: &Connection| -> Vec<(String, i64, Option<i64>)> {
            let mut statement = conn
                .prepare("SELECT id, credential_count, last_used_at FROM vaults ORDER BY id")
                .expect("prepare");
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query");
            rows.collect::<rusqlite::Result<_>>().expect("rows")
        };
        let counted = |conn: &Connection| -> Vec<(String, i64, Option<i64>)> {
            let mut statement = conn
                .prepare(
                    "SELECT v.id, (SELECT COUNT(*) FROM credentials c WHERE c.vault_id = v.id),
                            (SELECT MAX(c.last_used_at) FROM credentials c WHERE c.vault_id = v.id)
                     FROM vaults v ORDER BY v.id",
                )
                .expect("prepare");
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("query");
            rows.collect::<rusqlite::Result<_>>().expect("rows")
        };
        assert_eq!(
            tallies(&conn),
            [
                ("vlt_a".to_string(), 2, Some(7)),
                ("vlt_b".to_string(), 1, None),
                ("vlt_c".to_string(), 0, None),
            ],
            "filled in for existing data"
        );
        for (what, sql) in [
            ("added", credential("cred_4", "vlt_c", "3")),
            (
                "used",
                "UPDATE credentials SET last_used_at = 9 WHERE id = 'cred_3'".into(),
            ),
            (
                "used again",
                "UPDATE credentials SET last_used_at = 12 WHERE id = 'cred_2'".into(),
            ),
            (
                "moved",
                "UPDATE credentials SET vault_id = 'vlt_b' WHERE id = 'cred_2'".into(),
            ),
            (
                "deleted",
                "DELETE FROM credentials WHERE id = 'cred_3'".into(),
            ),
            (
                "vault deleted with its credentials",
                "DELETE FROM vaults WHERE id = 'vlt_b'".into(),
            ),
        ] {
            conn.execute_batch(&sql)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(tallies(&conn), counted(&conn), "after: {what}");
        }
        assert_eq!(
            tallies(&conn),
            [
                ("vlt_a".to_string(), 1, Some(7)),
                ("vlt_c".to_string(), 1, Some(3)),
            ]
        );
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
