//! A session's private folder: created 0700 in the temp folder, files in it
//! written 0600, removed when the session ends (and on drop, so a panic or
//! an early return cannot leave a token behind).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;

#[derive(Debug)]
pub(crate) struct PrivateDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl PrivateDir {
    pub(crate) fn create(session_id: &str) -> Result<Self> {
        let prefix = format!("keybearer-{session_id}-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir()?;
        let path = dir.path().to_path_buf();
        Ok(Self {
            dir: Some(dir),
            path,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new file readable by the owner only. The file must not exist.
    pub(crate) fn write(&self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.path.join(name);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        file.write_all(contents)?;
        file.sync_all()?;
        Ok(path)
    }

    /// Removes the folder and everything in it.
    pub(crate) fn remove(&mut self) -> Result<()> {
        if let Some(dir) = self.dir.take() {
            dir.close()?;
        }
        Ok(())
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(error) = self.remove() {
            tracing::warn!(%error, path = %self.path.display(), "could not remove a session's private folder");
        }
    }
}

/// Removes a private folder recorded for a session whose owner vanished.
/// Only folders that look like ours are touched, and never through a link.
/// Returns whether one was removed.
pub(crate) fn remove_recorded(path: &Path, session_id: &str) -> bool {
    let ours = path
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with(&format!("keybearer-{session_id}-")));
    let is_dir = fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir());
    if !(ours && is_dir) {
        return false;
    }
    match fs::remove_dir_all(path) {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "could not remove a lost session's private folder");
            false
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folder_is_0700_files_0600_and_gone_after_remove_or_drop() {
        let mut dir = PrivateDir::create("sesn_test").expect("create");
        let path = dir.path().to_path_buf();
        assert_eq!(
            fs::metadata(&path).expect("dir").permissions().mode() & 0o777,
            0o700
        );
        let file = dir.write("mcp.json", b"{}").expect("write");
        assert_eq!(
            fs::metadata(&file).expect("file").permissions().mode() & 0o777,
            0o600
        );
        assert!(dir.write("mcp.json", b"again").is_err(), "no overwrite");
        dir.remove().expect("remove");
        assert!(!path.exists());

        let dropped = PrivateDir::create("sesn_test").expect("create");
        let path = dropped.path().to_path_buf();
        drop(dropped);
        assert!(!path.exists());
    }
}
