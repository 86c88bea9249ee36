//! The SQLite file: opening it safely, migrations, and one query module per table.

pub(crate) mod connections;
pub(crate) mod credentials;
pub(crate) mod environments;
pub mod events;
pub(crate) mod meta;
pub(crate) mod migrations;
pub(crate) mod team_servers;
pub(crate) mod vaults;
pub(crate) mod wal_stamp;

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};

pub(crate) const DATABASE_FILE: &str = "vault.db";

pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and migrates it.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_at_version(data_dir, migrations::latest_version())
    }

    pub(crate) fn open_at_version(data_dir: &Path, version: i64) -> Result<Self> {
        let path = prepare_private_file(data_dir)?;
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL survives a killed writer; FULL sync makes every commit durable;
        // secure_delete overwrites freed pages so deleted ciphertext is gone.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrations::migrate_to(&mut conn, version)?;
        Ok(Self { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A read-only connection to an existing, current database (the tokens
    /// part's readers). Never creates or migrates anything; refuses writes.
    pub(crate) fn open_reader(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(DATABASE_FILE);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", "ON")?;
        let found = migrations::current_version(&conn)?;
        let supported = migrations::latest_version();
        if found > supported {
            return Err(Error::SchemaTooNew { found, supported });
        }
        if found < supported {
            return Err(Error::invalid(
                "database",
                "The vault database is not up to date yet; open Keybearer once to update it.",
            ));
        }
        Ok(Self { conn })
    }

    /// SQLite's `data_version` for this connection: it moves whenever
    /// another connection or process committed since the last call (this
    /// connection's own commits leave it alone). Cheap: it reads the WAL
    /// index in shared memory, no table.
    pub(crate) fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?)
    }

    /// The catalog's version (migration 0004): moves with every change that
    /// can alter what vaults resolve to, and with nothing else.
    pub(crate) fn catalog_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("SELECT version FROM catalog_version WHERE id = 1")?
            .query_row([], |row| row.get(0))?)
    }

    /// Copies the WAL into the database and empties it (`TRUNCATE`), so
    /// pages that held a deleted row (a token's ciphertext) do not linger in
    /// the `-wal` file; the database's own copy is overwritten by
    /// `secure_delete`. Best effort: a reader in the middle of a read keeps
    /// it from finishing, and the next delete tries again.
    pub fn checkpoint(&self) {
        let result = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
        match result {
            Ok(0) => {}
            Ok(_) => tracing::debug!("WAL checkpoint deferred: a reader is busy"),
            Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
        }
    }

    /// A write transaction that takes the lock up front, so two processes
    /// writing at once queue instead of failing half-way.
    pub fn write(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Creates the data folder (0700) and the database file (0600) before SQLite
/// touches them; SQLite gives its -wal and -shm files the database's mode.
fn prepare_private_file(data_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(data_dir)?;
    let path = data_dir.join(DATABASE_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // Permissions are never changed through a link: it could point at a
        // file that is not ours to open up or lock down.
        for (what, candidate) in [("data folder", data_dir), ("database", path.as_path())] {
            if fs::symlink_metadata(candidate).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(Error::invalid(
                    "data_dir",
                    format!(
                        "Keybearer's {what} {} is a symbolic link. Point KEYBEARER_HOME (or --data-dir) at the real folder instead.",
                        candidate.display()
                    ),
                ));
            }
        }
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))?;
        // Only open the file to create it. Closing any descriptor of a file
        // drops every POSIX lock this process holds on it, including those of
        // a SQLite connection already open here (the engine's, when the
        // session journal opens its own); another process could then
        // checkpoint and delete the WAL under it and writes would be lost.
        if !path.exists() {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)?;
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_a_database_made_by_an_older_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let old = Store::open_at_version(dir.path(), 1).expect("v1");
            old.conn()
                .execute(
                    "INSERT INTO vaults (id, display_name, environment, created_at, updated_at)
                     VALUES ('vlt_old', 'Old vault', 'staging', 1, 1)",
                    [],
                )
                .expect("insert under v1");
            assert_eq!(migrations::current_version(old.conn()).expect("version"), 1);
        }
        let store = Store::open(dir.path()).expect("migrates");
        assert_eq!(
            migrations::current_version(store.conn()).expect("version"),
            migrations::latest_version()
        );
        let vault = vaults::get(store.conn(), "vlt_old").expect("vault kept");
        assert_eq!(vault.display_name, "Old vault");
        assert!(events::list(store.conn(), None, 10)
            .expect("events table")
            .is_empty());
    }

    #[test]
    fn refuses_a_database_from_a_newer_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(Store::open(dir.path()).expect("create"));
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("raw");
        conn.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
            .expect("future version");
        drop(conn);
        let error = Store::open(dir.path()).err().expect("must refuse");
        assert_eq!(error.code(), "schema_too_new");
        assert!(error.to_string().contains("999"));
    }

    #[test]
    fn a_reader_sees_foreign_commits_and_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Store::open(dir.path()).expect("open");
        let reader = Store::open_reader(dir.path()).expect("reader");
        let first = reader.data_version().expect("version");
        assert_eq!(
            reader.data_version().expect("version"),
            first,
            "reads change nothing"
        );
        writer
            .conn()
            .execute("INSERT INTO meta VALUES ('other', x'00')", [])
            .expect("foreign write");
        let after = reader.data_version().expect("version");
        assert_ne!(after, first, "another connection's commit moves it");
        assert_eq!(reader.data_version().expect("version"), after);
        reader
            .conn()
            .execute("INSERT INTO meta VALUES ('mine', x'00')", [])
            .expect_err("a reader refuses writes");
    }

    #[test]
    fn the_catalog_version_moves_with_resolution_changes_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let conn = store.conn();
        let version = || store.catalog_version().expect("version");
        let mut last = version();
        let mut moved = |what: &str, sql: &str, expected: bool| {
            conn.execute_batch(sql)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let now = version();
            assert_eq!(now != last, expected, "{what}");
            last = now;
        };
        moved(
            "vault added",
            "INSERT INTO vaults (id, display_name, environment, created_at, updated_at)
             VALUES ('vlt_a', 'A', 'development', 1, 1)",
            true,
        );
        moved(
            "credential added",
            "INSERT INTO credentials (id, vault_id, mcp_server_url, protocol, type, sealed_token, created_at, last_used_at) VALUES ('cred_a', 'vlt_a', 'https://a.example/mcp',
             'streamable_http', 'static_bearer', x'00', 1, NULL)",
            true,
        );
        moved(
            "last used",
            "UPDATE credentials SET last_used_at = 5 WHERE id = 'cred_a'",
            false,
        );
        moved(
            "vault touched",
            "UPDATE vaults SET updated_at = 9 WHERE id = 'vlt_a'",
            false,
        );
        moved(
            "audit event",
            "INSERT INTO events (at, kind) VALUES (1, 'credential.used')",
            false,
        );
        moved(
            "token replaced in place",
            "UPDATE credentials SET sealed_token = x'01' WHERE id = 'cred_a'",
            true,
        );
        moved(
            "vault renamed",
            "UPDATE vaults SET display_name = 'B' WHERE id = 'vlt_a'",
            true,
        );
        moved(
            "vault deleted (and its credential)",
            "DELETE FROM vaults",
            true,
        );
    }

    #[test]
    fn a_reader_refuses_a_missing_or_newer_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            Store::open_reader(dir.path()).is_err(),
            "nothing is created"
        );
        assert!(!dir.path().join(DATABASE_FILE).exists());
        drop(Store::open(dir.path()).expect("create"));
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).expect("raw");
        conn.execute("INSERT INTO schema_migrations VALUES (999, 0)", [])
            .expect("future version");
        drop(conn);
        let error = Store::open_reader(dir.path()).err().expect("must refuse");
        assert_eq!(error.code(), "schema_too_new");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_never_followed_for_permissions() {
        use std::os::unix::fs::{symlink, PermissionsExt};
        let dir = tempfile::tempdir().expect("tempdir");
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).expect("dir");
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o755)).expect("chmod");
        let linked = dir.path().join("linked");
        symlink(&elsewhere, &linked).expect("symlink");
        let error = Store::open(&linked)
            .err()
            .expect("a linked data folder is refused");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        let mode = fs::metadata(&elsewhere).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "the link's target was not chmodded");

        let data = dir.path().join("data");
        fs::create_dir(&data).expect("dir");
        let target = dir.path().join("target.db");
        fs::write(&target, b"").expect("file");
        symlink(&target, data.join(DATABASE_FILE)).expect("symlink");
        assert!(Store::open(&data).is_err(), "a linked database is refused");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let store = Store::open(&data).expect("open");
        store
            .conn()
            .execute("INSERT INTO meta VALUES ('k', x'00')", [])
            .expect("write makes wal");
        for name in [DATABASE_FILE, "vault.db-wal", "vault.db-shm"] {
            let mode = fs::metadata(data.join(name))
                .expect(name)
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let mode = fs::metadata(&data).expect("dir").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let journal: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(journal, "wal");
        let secure: i64 = store
            .conn()
            .query_row("PRAGMA secure_delete", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(secure, 1);
    }
}
