//! Writing a settings file so that it is either entirely the old text or
//! entirely the new text, never half of each — also when the process is
//! killed at any moment (`cli/tests/apps_crash.rs` kills it at every step).
//!
//! Flow: follow a symlink to the real file (so a dotfiles link stays a
//! link), refusing a link that leads to another user's file or folder →
//! create missing parent folders (0700 on Unix) → remove temporary files an
//! earlier, killed Keybearer left beside the target → write a temporary
//! file beside the target (created exclusively, never a fixed name) → give
//! it the original file's permission bits (new files: 0600 on Unix) →
//! fsync → rename over the target → fsync the folder (Unix). On any failure
//! the temporary file is removed; no backup copy is ever left behind.
//! [`prepare_write`] stops before the rename, so a caller can make its own
//! change durable (a database commit) between the two: killed before the
//! rename, the file is still the old one.
//!
//! Reading ([`read_config`]) stops at the size limit of `limits.rs`.
//!
//! Limits: the owner and extended attributes of the original are not
//! copied; on Windows a read-only target makes the rename fail (reported,
//! file unchanged). Another program writing the same file at the same time
//! can still win the race: the last rename wins. A temporary file is known
//! as left over when the process that made it is gone (Linux) or it is an
//! hour old (elsewhere).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::locations::ConfigFile;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Replaces `path`'s contents with `text` atomically.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    prepare_write(path, text)?.commit()
}

/// A new text written and made durable beside the file, not yet in its
/// place: [`PreparedWrite::commit`] renames it over the file; dropped
/// uncommitted, it is removed and the file never changed.
#[must_use = "the file changes only when the prepared write is committed"]
pub struct PreparedWrite {
    /// The path the caller named (for messages).
    path: PathBuf,
    target: PathBuf,
    dir: PathBuf,
    temp: Option<PathBuf>,
}

/// Writes `text` beside `path` (following a symlink as [`write_atomic`]
/// does) and fsyncs it, ready to be renamed over the file.
pub fn prepare_write(path: &Path, text: &str) -> Result<PreparedWrite> {
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
    if target != path {
        refuse_other_users(path, &target, &dir)?;
    }
    create_dirs(&dir).map_err(|e| io_err("created (its folder)", e))?;
    let existing = match fs::metadata(&target) {
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("read", e)),
    };
    let stem = stem_of(&target);
    sweep_left_over(&dir, &stem);
    let (tmp_path, file) = create_temp(&dir, &stem).map_err(|e| io_err("written", e))?;
    if let Err(e) = fill(file, text, existing) {
        let _ = fs::remove_file(&tmp_path);
        return Err(io_err("written", e));
    }
    Ok(PreparedWrite {
        path: path.to_path_buf(),
        target,
        dir,
        temp: Some(tmp_path),
    })
}

impl PreparedWrite {
    /// Puts the new text in the file's place (and makes that durable).
    pub fn commit(mut self) -> Result<()> {
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        if let Err(source) = fs::rename(&temp, &self.target) {
            let _ = fs::remove_file(&temp);
            return Err(Error::Io {
                file: self.path.display().to_string(),
                action: "written",
                source,
            });
        }
        sync_dir(&self.dir);
        Ok(())
    }
}

impl Drop for PreparedWrite {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

fn fill(mut file: File, text: &str, permissions: Option<fs::Permissions>) -> io::Result<()> {
    file.write_all(text.as_bytes())?;
    if let Some(p) = permissions {
        file.set_permissions(p)?;
    }
    file.sync_all()
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

/// A link may lead only to a file of this user's (or, when the file does
/// not exist yet, into a folder of theirs): written through, a link to
/// another user's file would change that user's settings.
#[cfg(unix)]
fn refuse_other_users(path: &Path, target: &Path, dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let owner = match fs::metadata(target) {
        Ok(m) => Some(m.uid()),
        // Not there yet: the nearest existing folder it would go in.
        Err(_) => dir
            .ancestors()
            .find_map(|d| fs::metadata(d).ok())
            .map(|m| m.uid()),
    };
    match owner {
        Some(owner) if owner != me => Err(Error::LinkToAnotherUser {
            file: path.display().to_string(),
            target: target.display().to_string(),
        }),
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn refuse_other_users(_path: &Path, _target: &Path, _dir: &Path) -> Result<()> {
    Ok(())
}

fn stem_of(target: &Path) -> String {
    target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into())
}

/// Temporary files of this file's that a Keybearer killed mid-write left
/// behind: `.{stem}.keybearer-{pid}-….tmp` whose process is gone.
fn sweep_left_over(dir: &Path, stem: &str) {
    let prefix = format!(".{stem}.keybearer-");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest
            .strip_suffix(".tmp")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        // Only plain files: never follow a link someone put there.
        let plain = entry.file_type().is_ok_and(|t| t.is_file());
        if plain && pid != std::process::id() && gone(pid, &entry.path()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The process that made `temp` is gone.
#[cfg(target_os = "linux")]
fn gone(pid: u32, _temp: &Path) -> bool {
    !Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(not(target_os = "linux"))]
fn gone(_pid: u32, temp: &Path) -> bool {
    fs::metadata(temp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age > std::time::Duration::from_secs(3600))
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

fn create_temp(dir: &Path, stem: &str) -> io::Result<(PathBuf, File)> {
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
