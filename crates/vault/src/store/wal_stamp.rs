//! "Has anything been committed since?" for one small file read and no
//! lock: the header of SQLite's WAL index, the `-shm` file beside the
//! database. Every commit, by any connection in any process, rewrites that
//! header before the commit returns (SQLite's documented file format, "The
//! WAL-Index Format": two copies of a 48-byte header; the change counter,
//! the last frame, the salts and checksums move with each commit or WAL
//! restart). The second copy is written first, so equal copies are a
//! settled header; while a writer is between them they differ, and no stamp
//! is given.
//!
//! A stamp equal to one read earlier means nothing was committed between
//! the two reads. Anything else — a different stamp, or none — sends the
//! caller to the exact check (`PRAGMA data_version`, see `tokens`). That
//! pragma takes SQLite's process-wide shared-memory mutex, which the proxy's
//! worker threads would otherwise contend for on every request.
//!
//! The file is opened once per process and index file and never closed:
//! SQLite holds POSIX advisory locks on it, and on Unix closing *any*
//! descriptor of a file drops every such lock the process holds on it
//! (SQLite's "How To Corrupt An SQLite Database File", 2.2) — another
//! process could then think it alone uses the index and reset it. A new
//! index file (the database was closed by everyone and opened again) gets a
//! new descriptor; the old one stays open, unused.
//!
//! Limits: ordinary reads see what SQLite's mapping of the file holds (one
//! page cache on Linux, macOS and Windows). Open a stamp only beside a
//! reader connection that has read the database (so the index exists), and
//! drop it with that connection: while the connection is open no other
//! process can truncate or delete the index (SQLite does so only when it is
//! the index's sole user). A database not in WAL mode has no index: `open`
//! answers `None` and every check is the exact one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::DATABASE_FILE;

/// Every index file this process opened, never closed (see above).
static OPENED: Mutex<Vec<(PathBuf, Arc<File>)>> = Mutex::new(Vec::new());

/// One copy of the WAL-index header.
const HEADER: usize = 48;
/// Offset of `isInit` in the header: non-zero once the index is built.
const IS_INIT: usize = 12;

pub(crate) type Stamp = [u8; HEADER];

pub(crate) struct WalStamp {
    index: Arc<File>,
}

impl WalStamp {
    /// The WAL index of the database in `data_dir`, if there is one.
    pub(crate) fn open(data_dir: &Path) -> Option<Self> {
        let path = data_dir.join(format!("{DATABASE_FILE}-shm"));
        let current = std::fs::metadata(&path).ok()?;
        let mut opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
        let known = opened.iter().find(|(known, file)| {
            *known == path && file.metadata().is_ok_and(|open| same_file(&open, &current))
        });
        if let Some((_, file)) = known {
            return Some(Self {
                index: Arc::clone(file),
            });
        }
        let file = Arc::new(File::open(&path).ok()?);
        if cfg!(unix) {
            opened.push((path, Arc::clone(&file)));
        }
        Some(Self { index: file })
    }

    /// The current header, when both copies agree and it is built.
    pub(crate) fn read(&self) -> Option<Stamp> {
        let mut both = [0u8; 2 * HEADER];
        read_at(&self.index, &mut both).ok()?;
        let (first, second) = both.split_at(HEADER);
        if first != second || first[IS_INIT] == 0 {
            return None;
        }
        first.try_into().ok()
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Windows locks are per handle: closing ours drops nothing of SQLite's, so
/// handles are not kept (`open` makes a new one each time).
#[cfg(windows)]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, 0)
}

#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buffer.len() {
        match std::os::windows::fs::FileExt::seek_read(file, &mut buffer[done..], done as u64)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            read => done += read,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::WalStamp;
    use crate::store::Store;

    #[test]
    fn moves_with_every_commit_from_another_connection_and_only_then() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writer = Store::open(dir.path()).expect("store");
        let reader = Store::open_reader(dir.path()).expect("reader");
        let stamp = WalStamp::open(dir.path()).expect("a WAL index");
        let first = stamp.read().expect("a settled header");
        assert_eq!(stamp.read(), Some(first), "nothing committed");
        reader.data_version().expect("a read changes nothing");
        assert_eq!(stamp.read(), Some(first), "a read is not a commit");

        for round in 0..3 {
            let before = stamp.read().expect("settled");
            let tx = writer.write().expect("write");
            tx.execute(
                "INSERT INTO events (at, kind) VALUES (?1, 'credential.used')",
                [round],
            )
            .expect("insert");
            tx.commit().expect("commit");
            let after = stamp.read().expect("settled");
            assert_ne!(before, after, "commit {round} moved the header");
        }
        // A checkpoint that restarts the WAL moves it too.
        let before = stamp.read().expect("settled");
        writer.checkpoint();
        let tx = writer.write().expect("write");
        tx.execute(
            "INSERT INTO events (at, kind) VALUES (9, 'credential.used')",
            [],
        )
        .expect("insert");
        tx.commit().expect("commit");
        assert_ne!(stamp.read(), Some(before));
    }

    #[cfg(unix)]
    #[test]
    fn one_descriptor_per_index_file_kept_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _writer = Store::open(dir.path()).expect("store");
        let first = WalStamp::open(dir.path()).expect("a WAL index");
        let again = WalStamp::open(dir.path()).expect("a WAL index");
        assert!(std::sync::Arc::ptr_eq(&first.index, &again.index));
        drop((first, again));
        // Still open: dropping a stamp closes nothing.
        let kept = super::OPENED.lock().expect("lock");
        let path = dir.path().join("vault.db-shm");
        assert_eq!(kept.iter().filter(|(known, _)| *known == path).count(), 1);
    }

    #[test]
    fn no_index_no_stamp() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(WalStamp::open(dir.path()).is_none());
    }
}
