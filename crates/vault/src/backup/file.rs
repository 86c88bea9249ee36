//! Writing and reading a backup file (docs/architecture.md, "Backups").
//!
//! Write: a temporary file in the same folder (created new, 0600 on Unix),
//! the bytes, fsync, then a rename onto the name — refused when a file of
//! that name exists unless replacing was asked for (`persist_noclobber`:
//! a hard link on Unix, so a file appearing meanwhile is not replaced
//! either) — then fsync of the folder. A failure leaves no temporary file
//! and no half-written backup. A name that is a symbolic link is replaced
//! as a link, never written through.
//!
//! Read: at most [`MAX_BYTES`], from an ordinary file only (a pipe or a
//! device is refused).

use std::io::{Read, Write};
use std::path::Path;

use crate::backup_error::BackupError;
use crate::error::{Error, Result};

/// A backup of 100,000 credentials is ~40 MB; anything past this is not one.
pub(crate) const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The file's name as messages show it.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// Refused early (before any secret is asked for) when `path` exists and
/// may not be replaced.
pub(crate) fn refuse_existing(path: &Path, replace: bool) -> Result<()> {
    if !replace && std::fs::symlink_metadata(path).is_ok() {
        return Err(BackupError::FileExists { file: shown(path) }.into());
    }
    Ok(())
}

pub(crate) fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    refuse_existing(path, replace)?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let failed = |error: std::io::Error| {
        Error::invalid(
            "path",
            format!(
                "The backup could not be written to {} ({error}). Choose a folder you can write to. Nothing was written.",
                shown(path)
            ),
        )
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".keybearer-backup-")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(failed)?;
    temporary.write_all(bytes).map_err(failed)?;
    temporary.as_file().sync_all().map_err(failed)?;
    if replace {
        temporary.persist(path).map_err(|e| failed(e.error))?;
    } else {
        temporary.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::from(BackupError::FileExists { file: shown(path) })
            } else {
                failed(e.error)
            }
        })?;
    }
    #[cfg(unix)]
    std::fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(failed)?;
    Ok(())
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    let unreadable = |why: String| {
        Error::invalid(
            "path",
            format!("The backup file {} could not be read ({why}). Check the name and that you may read it. Nothing was changed.", shown(path)),
        )
    };
    // Looked at before it is opened: opening a named pipe would wait for a
    // writer forever.
    let ordinary = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if !ordinary.is_file() {
        return Err(unreadable("it is not an ordinary file".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let metadata = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !metadata.is_file() {
        return Err(unreadable("it is not an ordinary file".into()));
    }
    if metadata.len() > MAX_BYTES {
        return Err(BackupError::NotABackup { file: shown(path) }.into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(BackupError::NotABackup { file: shown(path) }.into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_new_files_unless_replacing_and_leave_nothing_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keybearer.kbbackup");
        write(&path, b"first", false).expect("new");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        let refused = write(&path, b"second", false).expect_err("exists");
        assert_eq!(refused.code(), "backup_file_exists");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        write(&path, b"second", true).expect("replace");
        assert_eq!(read(&path).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_folder_is_not_read_as_a_backup() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            read(dir.path()).expect_err("folder").code(),
            "invalid_input"
        );
        assert_eq!(
            read(&dir.path().join("missing"))
                .expect_err("missing")
                .code(),
            "invalid_input"
        );
    }
}
