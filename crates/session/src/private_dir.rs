//! A session's private folder: created 0700, files in it written 0600,
//! removed when the session ends (and on drop, so a panic or an early return
//! cannot leave a token behind).
//!
//! Where: never the shared temp folder. Every sandbox sees the whole file
//! system, so a folder in `/tmp` was readable by the agent of any other
//! session (its session secret, or in direct mode its real tokens). The
//! folders live in `$XDG_RUNTIME_DIR/keybearer` (memory, not disk, on
//! systemd systems) or, without a runtime folder, in `<data folder>/run`;
//! the sandbox hides both and binds back only the session's own folder
//! (docs/architecture.md, "Sessions").

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use keybearer_base::error::Result;

#[derive(Debug)]
pub(crate) struct PrivateDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl PrivateDir {
    /// A new folder for `session_id` in `parent` (see [`parent_folder`]).
    pub(crate) fn create(parent: &Path, session_id: &str) -> Result<Self> {
        let prefix = format!("keybearer-{session_id}-");
        ensure_parent(parent)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir_in(parent)?;
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

/// The folder that holds sessions' private folders for the data folder
/// `data_dir`: `$XDG_RUNTIME_DIR/keybearer` when the runtime folder exists,
/// else `<data_dir>/run`. Both are hidden from sandboxed agents.
pub(crate) fn parent_folder(data_dir: &Path) -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|runtime| runtime.is_absolute() && runtime.is_dir())
        .map(|runtime| runtime.join("keybearer"))
        .unwrap_or_else(|| data_dir.join("run"))
}

/// Makes `parent` (0700) if missing; refuses one that is a link or that
/// others may enter, since the session folders' names are predictable.
fn ensure_parent(parent: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(parent)?;
    let meta = fs::symlink_metadata(parent)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let open_to_others = meta.mode() & 0o077 != 0;
        if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() || open_to_others {
            return Err(keybearer_base::error::Error::Io(std::io::Error::other(
                format!(
                    "{} must be a folder only you can open; remove it and try again",
                    parent.display()
                ),
            )));
        }
    }
    #[cfg(not(unix))]
    if !meta.is_dir() {
        return Err(keybearer_base::error::Error::Io(std::io::Error::other(
            format!(
                "{} must be a folder; remove it and try again",
                parent.display()
            ),
        )));
    }
    Ok(())
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
        let parent = tempfile::tempdir().expect("parent");
        let parent = parent.path().join("run");
        let mut dir = PrivateDir::create(&parent, "sesn_test").expect("create");
        assert_eq!(
            fs::metadata(&parent).expect("parent").permissions().mode() & 0o777,
            0o700
        );
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

        let dropped = PrivateDir::create(&parent, "sesn_test").expect("create");
        let path = dropped.path().to_path_buf();
        drop(dropped);
        assert!(!path.exists());
    }

    #[test]
    fn a_parent_others_may_enter_is_refused() {
        let parent = tempfile::tempdir().expect("parent");
        fs::set_permissions(parent.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let error = PrivateDir::create(parent.path(), "sesn_test").expect_err("refused");
        assert!(error.to_string().contains("only you can open"), "{error}");
    }
}
