//! The SQLite file: opening it safely, migrations, and one query module per table.

pub(crate) mod credentials;
pub(crate) mod environments;
pub(crate) mod events;
pub(crate) mod meta;
pub(crate) mod migrations;
#[cfg(unix)]
pub(crate) mod sessions;
pub(crate) mod vaults;

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::Result;

pub(crate) const DATABASE_FILE: &str = "vault.db";

pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and migrates it.
    pub(crate) fn open(data_dir: &Path) -> Result<Self> {
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

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Where the database stands now. Two stamps differ when anything was
    /// committed in between: SQLite's `data_version` moves when another
    /// connection or process commits, and this connection's own change count
    /// moves when it writes (its own commits leave `data_version` alone).
    /// Cheap: no table is read.
    pub(crate) fn stamp(&self) -> Result<StoreStamp> {
        let data_version = self
            .conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |row| row.get(0))?;
        Ok(StoreStamp {
            data_version,
            own_changes: self.conn.total_changes(),
        })
    }

    /// A write transaction that takes the lock up front, so two processes
    /// writing at once queue instead of failing half-way.
    pub(crate) fn write(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// See [`Store::stamp`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreStamp {
    pub(crate) data_version: i64,
    pub(crate) own_changes: u64,
}

/// Creates the data folder (0700) and the database file (0600) before SQLite
/// touches them; SQLite gives its -wal and -shm files the database's mode.
fn prepare_private_file(data_dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(data_dir)?;
    let path = data_dir.join(DATABASE_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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
    fn stamp_moves_on_own_and_foreign_commits_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let first = store.stamp().expect("stamp");
        assert_eq!(store.stamp().expect("stamp"), first, "reads change nothing");
        store
            .conn()
            .execute("INSERT INTO meta VALUES ('own', x'00')", [])
            .expect("own write");
        let own = store.stamp().expect("stamp");
        assert_ne!(own, first);
        assert_eq!(own.data_version, first.data_version);

        let other = Connection::open(dir.path().join(DATABASE_FILE)).expect("second connection");
        other
            .execute("INSERT INTO meta VALUES ('other', x'00')", [])
            .expect("foreign write");
        let foreign = store.stamp().expect("stamp");
        assert_ne!(foreign.data_version, own.data_version);
        assert_eq!(foreign.own_changes, own.own_changes);
        assert_eq!(store.stamp().expect("stamp"), foreign);
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
