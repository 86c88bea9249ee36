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
//! Each file is opened without following a symlink and without waiting
//! (`O_NOFOLLOW | O_NONBLOCK`: a FIFO named like a backup would otherwise
//! hang the import), then checked through the open handle: same file as the
//! name showed, regular, not too big. Its bytes are read into one buffer
//! sized from the handle's length, never grown (so never copied), and wiped
//! afterwards. To delete, the file's folder is opened and, while the checked
//! file is still held open (so its inode number cannot be reused), the name
//! is looked at in that folder (`fstatat`) and must still be that very file
//! (device and inode); only then is it unlinked from the same folder
//! (`unlinkat`).
//!
//! A secret shorter than [`MIN_SECRET_BYTES`] is not looked for: a few
//! characters (a header value like `abc`) turn up in unrelated text, so a
//! match would not show that a file holds the token, and deleting on it
//! could delete a backup that has nothing to do with it.
//!
//! Limits: the other names of a hard link are not searched for (that means
//! reading every folder of the disk), only counted; Windows reports no link
//! count here. Backups kept in other folders (an editor's backup folder,
//! `~/.claude/backups/`) are not looked for, nor copies of a secret shorter
//! than [`MIN_SECRET_BYTES`]. Files over [`MAX_COPY_BYTES`] are not read; a
//! file that grows while it is read is read up to its length when opened.
//! The search itself is plain byte comparison. Between the last look at the
//! name and the unlink (two system calls in a row, on the same open folder)
//! something that can write to the folder could still rename another file
//! to that name, and that file would be deleted: Unix has no "unlink only if
//! it is this file". On Windows the name is checked by path only (no
//! device and inode, no `O_NOFOLLOW`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Backups bigger than this are not read (a settings file is at most 16 MiB).
pub const MAX_COPY_BYTES: u64 = 64 * 1024 * 1024;

/// Secrets shorter than this are not looked for (see the module header).
/// Eight bytes: real tokens are longer (16 and more), and a string that
/// long matches unrelated text of a settings file's backup far less often
/// than `abc` or `1234` would; shorter ones are more likely a word or a
/// number that happens to be there.
pub const MIN_SECRET_BYTES: usize = 8;

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
        if let Ok(Some(checked)) = check(&candidate, secrets) {
            found.push(FoundCopy {
                path: candidate,
                holds: checked.holds,
                file: checked.id,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// Deletes `path` (one of [`find_copies`]'s) if it is still a regular file
/// that holds one of `secrets`, and the name still names that file right
/// before it is unlinked. `Ok(false)`: it no longer qualifies, and was left
/// alone.
pub fn delete_copy(path: &Path, secrets: &[&str]) -> io::Result<bool> {
    match check(path, secrets)? {
        // `checked` (its open handle) lives until the unlink is done.
        Some(checked) => unlink_if_same(path, &checked),
        None => Ok(false),
    }
}

#[cfg(unix)]
fn unlink_if_same(path: &Path, checked: &Checked) -> io::Result<bool> {
    use nix::fcntl::{AtFlags, OFlag};
    use nix::sys::stat::{fstatat, SFlag};
    use nix::unistd::{unlinkat, UnlinkatFlags};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;

    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(false);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let folder = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_DIRECTORY.bits())
        .open(dir)?;
    let now = fstatat(Some(folder.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(io::Error::from)?;
    let regular = SFlag::from_bits_truncate(now.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
    // Swapped since it was checked: the name is another file now.
    if !regular || Some(stat_id(&now)) != checked.id {
        return Ok(false);
    }
    unlinkat(Some(folder.as_raw_fd()), name, UnlinkatFlags::NoRemoveDir)
        .map_err(io::Error::from)?;
    Ok(true)
}

#[cfg(not(unix))]
fn unlink_if_same(path: &Path, _checked: &Checked) -> io::Result<bool> {
    fs::remove_file(path)?;
    Ok(true)
}

/// Device and inode of what `fstatat` saw (their types differ by system).
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn stat_id(stat: &nix::sys::stat::FileStat) -> (u64, u64) {
    (stat.st_dev as u64, stat.st_ino as u64)
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

/// A file that holds at least one of the secrets, still open.
struct Checked {
    /// Held open so that the file (and its inode number) stays until the
    /// caller is done with it.
    _file: File,
    /// Indexes of the secrets it holds.
    holds: Vec<usize>,
    id: Option<(u64, u64)>,
}

/// `Some` when `path` is a regular file (not a symlink) no bigger than
/// [`MAX_COPY_BYTES`] that holds at least one of `secrets` (those of at
/// least [`MIN_SECRET_BYTES`]).
fn check(path: &Path, secrets: &[&str]) -> io::Result<Option<Checked>> {
    let before = fs::symlink_metadata(path)?;
    if !before.file_type().is_file() || before.len() > MAX_COPY_BYTES {
        return Ok(None);
    }
    let mut file = open_without_waiting(path)?;
    let opened = file.metadata()?;
    // Swapped (for a symlink, a FIFO or another file) between the look and
    // the open.
    if file_id(&opened) != file_id(&before) || !opened.is_file() || opened.len() > MAX_COPY_BYTES {
        return Ok(None);
    }
    let length = usize::try_from(opened.len()).map_err(io::Error::other)?;
    // Sized once and never grown: no copy of the contents is left behind.
    let mut bytes = Zeroizing::new(vec![0u8; length]);
    let mut filled = 0;
    while filled < length {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    let holds: Vec<usize> = secrets
        .iter()
        .enumerate()
        .filter(|(_, secret)| {
            secret.len() >= MIN_SECRET_BYTES && contains(&bytes[..filled], secret.as_bytes())
        })
        .map(|(i, _)| i)
        .collect();
    Ok((!holds.is_empty()).then(|| Checked {
        _file: file,
        holds,
        id: file_id(&opened),
    }))
}

/// Opens `path` for reading; on Unix never through a symlink, never
/// waiting for a writer (a FIFO), never as a controlling terminal.
fn open_without_waiting(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use nix::fcntl::OFlag;
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags((OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits());
    }
    options.open(path)
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
