//! Copies of a settings file that rewriting it does not reach: other hard
//! links to it, and backups beside it (docs/architecture.md, "App
//! connections"). An import moves a token out of the settings file; these
//! still hold it, so the caller reports them and may delete the backups.
//!
//! Flow: before the file is rewritten, [`identity`] records which file it is
//! and how many names it has (`st_nlink`); [`write_atomic`](crate::write_atomic)
//! renames a new file into place, so every other name keeps the old contents.
//! Afterwards [`find_copies`] looks in the settings file's folder (and, when
//! its path is a symlink, in the real file's folder) for regular files whose
//! name contains the settings file's name (`mcp.json~`, `.mcp.json.swp`,
//! `mcp.json.bak`, `#mcp.json#`, `.claude.json.backup`, a Keybearer
//! temporary file, …) and that hold one of the secrets, byte for byte.
//! [`delete_copy`] deletes one such file after checking again that it is
//! still a regular file (never a symlink: the link, not its target, would be
//! the thing named) and still holds a secret.
//!
//! Limits: the other names of a hard link are not searched for (that means
//! reading every folder of the disk), only counted; Windows reports no link
//! count here. Backups kept in other folders (an editor's backup folder,
//! `~/.claude/backups/`) are not looked for. Files over [`MAX_COPY_BYTES`]
//! are not read. The bytes read are wiped after the search; the search
//! itself is plain byte comparison.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Backups bigger than this are not read (a settings file is at most 16 MiB).
pub const MAX_COPY_BYTES: u64 = 64 * 1024 * 1024;

/// Which file a settings path names, and how many names that file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    pub device: u64,
    pub inode: u64,
    /// Names (hard links) the file has, this one included.
    pub links: u64,
}

/// The identity of the file `path` names (following symlinks, as the apps
/// and [`write_atomic`](crate::write_atomic) do). `None` when it does not
/// exist, and always on Windows.
pub fn identity(path: &Path) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).ok()?;
        Some(FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            links: meta.nlink(),
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A file beside the settings file that holds at least one of the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCopy {
    pub path: PathBuf,
    /// Indexes into the secrets searched for: the ones this file holds.
    pub holds: Vec<usize>,
    /// Device and inode (Unix), to tell a hard link found here by name.
    pub file: Option<(u64, u64)>,
}

/// Regular files beside `settings` named like a copy of it that hold one
/// of `secrets`, sorted by path. Unreadable files are skipped.
pub fn find_copies(settings: &Path, secrets: &[&str]) -> Vec<FoundCopy> {
    let mut found: Vec<FoundCopy> = Vec::new();
    for candidate in candidates(settings) {
        if found.iter().any(|f| f.path == candidate) {
            continue;
        }
        if let Ok(Some((holds, file))) = holds_secrets(&candidate, secrets) {
            found.push(FoundCopy {
                path: candidate,
                holds,
                file,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Deletes `path` (one of [`find_copies`]'s) if it is still a regular file
/// that holds one of `secrets`. `Ok(false)`: it no longer qualifies, and
/// was left alone.
pub fn delete_copy(path: &Path, secrets: &[&str]) -> io::Result<bool> {
    match holds_secrets(path, secrets)? {
        Some(_) => {
            fs::remove_file(path)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Files in the settings file's folder(s) whose name contains its name.
fn candidates(settings: &Path) -> Vec<PathBuf> {
    let mut places = vec![settings.to_path_buf()];
    if let Ok(real) = fs::canonicalize(settings) {
        places.push(real);
    }
    let mut out = Vec::new();
    for place in places {
        let (Some(dir), Some(name)) = (place.parent(), place.file_name()) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let name = name.to_string_lossy().into_owned();
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let other = entry.file_name().to_string_lossy().into_owned();
            if other == name || !other.contains(&name) {
                continue;
            }
            out.push(entry.path());
        }
    }
    out
}

/// `Some(indexes of the secrets held, file id)` when `path` is a regular
/// file (not a symlink) no bigger than [`MAX_COPY_BYTES`] that holds at
/// least one of `secrets`.
type Held = (Vec<usize>, Option<(u64, u64)>);

fn holds_secrets(path: &Path, secrets: &[&str]) -> io::Result<Option<Held>> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() || before.len() > MAX_COPY_BYTES {
        return Ok(None);
    }
    let file = File::open(path)?;
    let opened = file.metadata()?;
    // Swapped (for a symlink or another file) between the look and the open.
    if file_id(&opened) != file_id(&before) || !opened.is_file() {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(opened.len().min(MAX_COPY_BYTES) as usize + 1);
    let read = file.take(MAX_COPY_BYTES).read_to_end(&mut bytes);
    let holds: Vec<usize> = secrets
        .iter()
        .enumerate()
        .filter(|(_, secret)| !secret.is_empty() && contains(&bytes, secret.as_bytes()))
        .map(|(i, _)| i)
        .collect();
    bytes.fill(0);
    read?;
    Ok((!holds.is_empty()).then(|| (holds, file_id(&opened))))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}
