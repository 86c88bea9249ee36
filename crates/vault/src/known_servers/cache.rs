//! The registry's list as last read, and when a refresh was last tried, in
//! the data folder:
//! - `registry-cache.json`: `{format, registry, fetched_at, servers}`, the
//!   servers a [`Snapshot`] (read back through the catalog's reader, so a
//!   changed file gets the same checks as a fresh answer); `fetched_at`
//!   (milliseconds since 1970) is when the refresh that wrote it began;
//! - `registry-checked.json`: `{registry, checked_at}`, written as each
//!   refresh begins, whatever its outcome: the once-a-day rule counts tries,
//!   so a registry that is down is not asked again at every command.
//!
//! Both are written whole: a temporary file beside them (0600 on Unix),
//! fsync, rename, fsync of the folder. A refused answer writes no cache.
//! Reading: a file over [`MAX_CACHE_BYTES`], not JSON, of another format
//! or another registry reads as no cache (logged, never an error).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use keybearer_server_catalog::{Loaded, Snapshot};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Timestamp;

pub(super) const CACHE_FILE: &str = "registry-cache.json";
pub(super) const CHECKED_FILE: &str = "registry-checked.json";
/// The largest cache file read or written (2,000 servers of ~1 KB are 2 MB).
pub(super) const MAX_CACHE_BYTES: usize = 16 * 1024 * 1024;
const FORMAT: u32 = 1;

#[derive(Serialize)]
struct CacheOut<'a> {
    format: u32,
    registry: &'a str,
    fetched_at: i64,
    servers: &'a Snapshot,
}

#[derive(Deserialize)]
struct CacheIn {
    format: u32,
    registry: String,
    fetched_at: i64,
    servers: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct Checked {
    registry: String,
    checked_at: i64,
}

/// A cache file, read and checked.
pub(super) struct Cached {
    pub fetched_at: Timestamp,
    pub loaded: Loaded,
}

pub(super) fn cache_path(data_dir: &Path) -> PathBuf {
    data_dir.join(CACHE_FILE)
}

/// At most `MAX_CACHE_BYTES` of `path`; `None` when missing or unreadable
/// (logged unless missing).
fn read_capped(path: &Path) -> Option<Vec<u8>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "registry cache unreadable");
            return None;
        }
    };
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_CACHE_BYTES).unwrap_or(u64::MAX);
    if let Err(error) = file.take(limit + 1).read_to_end(&mut bytes) {
        tracing::warn!(file = %path.display(), %error, "registry cache unreadable");
        return None;
    }
    if bytes.len() > MAX_CACHE_BYTES {
        tracing::warn!(file = %path.display(), "registry cache too big: ignored");
        return None;
    }
    Some(bytes)
}

/// The cached list of `registry`, if there is a usable one.
pub(super) fn read_cache(data_dir: &Path, registry: &str) -> Option<Cached> {
    let path = cache_path(data_dir);
    let bytes = read_capped(&path)?;
    let cache: CacheIn = match serde_json::from_slice(&bytes) {
        Ok(cache) => cache,
        Err(error) => {
            tracing::warn!(file = %path.display(), %error, "registry cache not readable: ignored");
            return None;
        }
    };
    if cache.format != FORMAT || cache.registry != registry {
        tracing::info!("registry cache is of another format or registry: ignored");
        return None;
    }
    let loaded = Snapshot::read(cache.servers);
    for skip in &loaded.skipped {
        tracing::warn!(server = %skip.server, reason = %skip.reason, "cached registry server no longer passes the checks");
    }
    Some(Cached {
        fetched_at: Timestamp(cache.fetched_at),
        loaded,
    })
}

/// Replaces the cache with `snapshot`, read from `registry` by a refresh
/// that began at `fetched_at`.
pub(super) fn write_cache(
    data_dir: &Path,
    registry: &str,
    fetched_at: Timestamp,
    snapshot: &Snapshot,
) -> Result<()> {
    let bytes = serde_json::to_vec(&CacheOut {
        format: FORMAT,
        registry,
        fetched_at: fetched_at.0,
        servers: snapshot,
    })
    .map_err(|error| Error::Io(std::io::Error::other(error)))?;
    if bytes.len() > MAX_CACHE_BYTES {
        return Err(Error::Registry(format!(
            "The MCP Registry at {registry} listed more than Keybearer keeps ({} bytes of usable servers, at most {MAX_CACHE_BYTES}), so its list was not used. Nothing was changed: Keybearer keeps the servers it already knows.",
            bytes.len()
        )));
    }
    write_whole(&cache_path(data_dir), &bytes)
}

/// When a refresh of `registry` was last tried, if the record is of it.
pub(super) fn read_checked(data_dir: &Path, registry: &str) -> Option<Timestamp> {
    let bytes = read_capped(&data_dir.join(CHECKED_FILE))?;
    let checked: Checked = serde_json::from_slice(&bytes).ok()?;
    (checked.registry == registry).then_some(Timestamp(checked.checked_at))
}

pub(super) fn write_checked(data_dir: &Path, registry: &str, at: Timestamp) -> Result<()> {
    let bytes = serde_json::to_vec(&Checked {
        registry: registry.to_string(),
        checked_at: at.0,
    })
    .map_err(|error| Error::Io(std::io::Error::other(error)))?;
    write_whole(&data_dir.join(CHECKED_FILE), &bytes)
}

/// `bytes` into `path` all at once: temporary file (0600 on Unix) in the
/// same folder, fsync, rename over `path`, fsync of the folder.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    // The data folder exists (the engine made it, 0700).
    let folder = path.parent().unwrap_or_else(|| Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".registry-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| Error::Io(error.error))?;
    #[cfg(unix)]
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
    Ok(())
}
