//! Writing a settings file so that it is either entirely the old text or
//! entirely the new text, never half of each.
//!
//! Flow: follow a symlink to the real file (so a dotfiles link stays a
//! link) → create missing parent folders (0700 on Unix) → write a temporary
//! file beside the target (created exclusively, never a fixed name) → give
//! it the original file's permission bits (new files: 0600 on Unix) →
//! fsync → rename over the target → fsync the folder (Unix). On any failure
//! the temporary file is removed; no backup copy is ever left behind.
//!
//! Reading ([`read_config`]) stops at the size limit of `limits.rs`.
//!
//! Limits: the owner and extended attributes of the original are not
//! copied; on Windows a read-only target makes the rename fail (reported,
//! file unchanged). Another program writing the same file at the same time
//! can still win the race: the last rename wins.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::locations::ConfigFile;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Replaces `path`'s contents with `text` atomically.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let io_err = |action: &'static str, source: io::Error| Error::Io {
        file: path.display().to_string(),
        action,
        source,
    };
    let target = resolve_symlink(path).map_err(|e| io_err("read", e))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dirs(&dir).map_err(|e| io_err("created (its folder)", e))?;
    let existing = match fs::metadata(&target) {
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("read", e)),
    };
    let (tmp_path, file) = create_temp(&dir, &target).map_err(|e| io_err("written", e))?;
    let result = fill_and_rename(file, &tmp_path, &target, text, existing);
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result.map_err(|e| io_err("written", e))?;
    sync_dir(&dir);
    Ok(())
}

fn fill_and_rename(
    mut file: File,
    tmp: &Path,
    target: &Path,
    text: &str,
    permissions: Option<fs::Permissions>,
) -> io::Result<()> {
    file.write_all(text.as_bytes())?;
    if let Some(p) = permissions {
        file.set_permissions(p)?;
    }
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, target)
}

/// A symlink is followed to the file it points to (created if dangling).
fn resolve_symlink(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..32 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn create_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn create_temp(dir: &Path, target: &Path) -> io::Result<(PathBuf, File)> {
    let stem = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let mut last = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(".{stem}.keybearer-{}-{n}-{nanos:x}.tmp", std::process::id());
        let path = dir.join(name);
        match open_new(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

#[cfg(unix)]
fn open_new(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Makes the rename durable. Best effort: some file systems refuse.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

/// Reads a settings file; a missing file reads as `""` (which the editors
/// treat as an empty settings file). Reads no more than the format's size
/// limit (`limits.rs`): a bigger file is refused unread, a pipe or device
/// (which could block or never end) refused unopened.
pub fn read_config(file: &ConfigFile) -> Result<String> {
    let path = &file.path;
    let io_err = |source: io::Error| Error::Io {
        file: path.display().to_string(),
        action: "read",
        source,
    };
    let ctx = file.ctx();
    let limit = crate::limits::max_bytes(file.app.format());
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => {
            return Err(io_err(io::Error::other(
                "it is not an ordinary file (a folder, a pipe or a device)",
            )))
        }
        Ok(m) if m.len() > limit => return Err(crate::limits::size_error(&ctx, m.len())),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(io_err(e)),
    }
    let mut text = String::new();
    match File::open(path).and_then(|f| f.take(limit + 1).read_to_string(&mut text)) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(io_err(e)),
    }
    // It grew between the look and the read.
    if text.len() as u64 > limit {
        return Err(crate::limits::size_error(&ctx, text.len() as u64));
    }
    Ok(text)
}
