//! Known servers: the catalog of remote MCP servers as this installation
//! sees it — the built-in list (`keybearer-server-catalog`'s servers.toml)
//! and, under it, what the MCP Registry lists (docs/architecture.md, "Known
//! servers"). The front ends ask [`KnownServers::catalog`] for it and
//! refresh it with a [`Refresher`].
//!
//! Flow: the registry's address is a setting (the `meta` row
//! `server_registry`; absent means [`DEFAULT_REGISTRY`]; checked by
//! `address.rs`). A refresh (`refresh.rs`) asks it for its list
//! (`fetch.rs`) at most once a day and keeps what it could use in the data
//! folder (`cache.rs`). [`KnownServers::catalog`] is the built-in list with
//! the cached registry servers merged under it: a built-in entry wins over
//! a registry one with the same address or registry name. The merged
//! catalog is kept in memory until the cache file changes. How a server
//! without a known way signs in is found by asking it (`ask.rs`); the OAuth
//! endpoints an entry pins are read by `pinned.rs`.
//!
//! Limits: a cache of another registry is not used (after the setting
//! changes, the built-in list alone until the new registry is read); a
//! broken setting or cache gives the built-in list and a log line, never an
//! error — the catalog always works.

mod address;
mod ask;
mod cache;
mod fetch;
mod pinned;
mod refresh;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use keybearer_server_catalog::Catalog;

pub use address::{check_registry_address, DEFAULT_REGISTRY};
pub use ask::{ask_the_server, AskedServer, SignInWay};
pub use pinned::pinned_endpoints;
pub use refresh::{Refresh, RefreshKind, RefreshReport, Refresher, SkippedServer};

use crate::error::Result;
use crate::store::{meta, Store};

/// The known-servers part of the engine: `engine.known_servers()`.
pub struct KnownServers<'e> {
    pub(crate) store: &'e Store,
    pub(crate) data_dir: &'e Path,
}

impl KnownServers<'_> {
    /// The MCP Registry's address: the setting, else the official registry.
    pub fn registry(&self) -> Result<String> {
        match meta::get_text(self.store.conn(), meta::SERVER_REGISTRY)? {
            Some(stored) => check_registry_address(&stored),
            None => Ok(DEFAULT_REGISTRY.to_string()),
        }
    }

    /// Sets the registry's address (`None`: back to the official registry);
    /// returns the address now in use. Nothing is fetched here.
    pub fn set_registry(&self, address: Option<&str>) -> Result<String> {
        match address {
            Some(address) => {
                let address = check_registry_address(address)?;
                meta::set(self.store.conn(), meta::SERVER_REGISTRY, address.as_bytes())?;
                tracing::info!(registry = %address, "registry address set");
                Ok(address)
            }
            None => {
                meta::delete(self.store.conn(), meta::SERVER_REGISTRY)?;
                tracing::info!("registry address set back to the official registry");
                Ok(DEFAULT_REGISTRY.to_string())
            }
        }
    }

    /// The built-in servers with the registry's cached ones under them.
    /// Never fails: without a usable setting or cache, the built-in list.
    pub fn catalog(&self) -> Arc<Catalog> {
        match self.registry() {
            Ok(registry) => merged(self.data_dir, &registry),
            Err(error) => {
                tracing::warn!(code = %error.code(), "registry setting unusable: built-in servers only");
                Arc::new(Catalog::shipped().clone())
            }
        }
    }

    /// The OAuth endpoints known server `id` pins for signing in at `url`
    /// (one of its addresses), if any.
    pub fn pinned_endpoints(&self, id: &str, url: &str) -> Option<crate::oauth::PinnedEndpoints> {
        pinned_endpoints(self.catalog().get(id)?, url)
    }

    /// What refreshes this registry's list into this data folder (it needs
    /// no engine, so it can run on a thread of its own).
    pub fn refresher(&self) -> Result<Refresher> {
        Ok(Refresher {
            data_dir: self.data_dir.to_path_buf(),
            registry: self.registry()?,
        })
    }
}

/// The merged catalog last built, and what it was built from.
struct Loaded {
    data_dir: PathBuf,
    registry: String,
    stamp: Stamp,
    catalog: Arc<Catalog>,
}

/// What tells a cache file's versions apart: its size and time, and this
/// process's own writes (a file system's clock may be coarse).
#[derive(PartialEq, Eq)]
struct Stamp {
    file: Option<(u64, SystemTime)>,
    written: u64,
}

static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);
static WRITES: AtomicU64 = AtomicU64::new(0);

/// Called after this process wrote the cache.
fn forget_loaded() {
    WRITES.fetch_add(1, Ordering::Relaxed);
}

fn stamp(data_dir: &Path) -> Stamp {
    let file = std::fs::metadata(cache::cache_path(data_dir))
        .ok()
        .and_then(|meta| Some((meta.len(), meta.modified().ok()?)));
    Stamp {
        file,
        written: WRITES.load(Ordering::Relaxed),
    }
}

/// The built-in list merged with `registry`'s cached list in `data_dir`.
fn merged(data_dir: &Path, registry: &str) -> Arc<Catalog> {
    let stamp = stamp(data_dir);
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = loaded.as_ref().filter(|known| {
        known.data_dir == data_dir && known.registry == registry && known.stamp == stamp
    }) {
        return Arc::clone(&known.catalog);
    }
    let entries = cache::read_cache(data_dir, registry)
        .map(|cached| cached.loaded.entries)
        .unwrap_or_default();
    let catalog = Arc::new(Catalog::merged(Catalog::shipped(), entries));
    *loaded = Some(Loaded {
        data_dir: data_dir.to_path_buf(),
        registry: registry.to_string(),
        stamp,
        catalog: Arc::clone(&catalog),
    });
    catalog
}
