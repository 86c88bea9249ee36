//! `Engine`: the facade the CLI and the desktop shell open. It owns the
//! database connection and the key ring, reports [`Status`], and hands out
//! the parts, each with one job (docs/architecture.md, "The engine's parts"):
//! [`Keys`] (the master key's lifecycle), [`Catalog`] (environments, vaults,
//! credentials), [`Audit`] (the trail), [`Resolver`] (precedence and the
//! one-environment rule), and [`Tokens`] (the read path that opens tokens
//! for the proxy and direct mode). A part borrows the engine for the length
//! of a call chain: `engine.catalog().vaults(None)`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::Audit;
use crate::backup::Backups;
use crate::catalog::{self, Catalog};
use crate::connections::Connections;
use crate::error::{Error, Result};
use crate::keychain::{KeyStore, KeychainError, OsKeychain};
use crate::keys::{self, KeyProtection, KeyRing, Keys};
use crate::known_servers::KnownServers;
use crate::resolve::Resolver;
use crate::store::{credentials, meta, migrations, vaults, Store};
use crate::tokens::Tokens;
use crate::usage::UsageRecorder;

/// What `status` reports: enough to pick the right screen (setup, unlock,
/// recovery, main) without touching a secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Status {
    pub data_dir: PathBuf,
    /// The keychain entry (service `keybearer`) that holds this installation's key.
    pub keychain_account: String,
    pub initialized: bool,
    pub protection: Option<KeyProtection>,
    pub keychain: KeychainStatus,
    pub unlocked: bool,
    pub recovery_needed: bool,
    pub active_environment: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vaults: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub schema_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum KeychainStatus {
    /// Reachable; `has_key` says whether this installation's key is in it.
    Available {
        has_key: bool,
    },
    Locked {
        detail: String,
    },
    Unavailable {
        detail: String,
    },
}

pub struct Engine {
    store: Store,
    ring: KeyRing,
    data_dir: PathBuf,
}

/// The data folder: `KEYBEARER_HOME` if set, else the OS app-data folder
/// (`~/.local/share/keybearer`, `~/Library/Application Support/keybearer`,
/// `%APPDATA%\keybearer`).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("KEYBEARER_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    directories::BaseDirs::new()
        .map(|dirs| dirs.data_dir().join("keybearer"))
        .ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no home folder found; set KEYBEARER_HOME to choose a data folder",
            ))
        })
}

impl Engine {
    /// Opens the vault in `data_dir` with the OS keychain. Does not unlock.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with_keychain(data_dir, Box::new(OsKeychain))
    }

    pub fn open_with_keychain(data_dir: &Path, keychain: Box<dyn KeyStore>) -> Result<Self> {
        let mut store = Store::open(data_dir)?;
        let install_id = match meta::get_text(store.conn(), meta::INSTALL_ID)? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::now_v7().simple().to_string();
                let tx = store.write()?;
                // Another process may have raced us to it: keep whichever landed first.
                tx.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                    rusqlite::params![meta::INSTALL_ID, id.as_bytes()],
                )?;
                let stored = meta::get_text(&tx, meta::INSTALL_ID)?.unwrap_or(id);
                tx.commit()?;
                stored
            }
        };
        Ok(Self {
            store,
            ring: KeyRing::new(keychain, install_id),
            data_dir: data_dir.to_path_buf(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(crate::store::DATABASE_FILE)
    }

    /// The master key's lifecycle: setup, unlock, recovery.
    pub fn keys(&mut self) -> Keys<'_> {
        Keys {
            store: &mut self.store,
            ring: &mut self.ring,
        }
    }

    /// Backup files: make one, restore one (docs/architecture.md, "Backups").
    pub fn backups(&mut self) -> Backups<'_> {
        Backups {
            store: &mut self.store,
            ring: &mut self.ring,
        }
    }

    /// Environments, vaults and credentials.
    pub fn catalog(&mut self) -> Catalog<'_> {
        Catalog {
            store: &mut self.store,
            ring: &mut self.ring,
        }
    }

    /// The known remote MCP servers: the built-in list and the MCP
    /// Registry's, the registry's address, its refresh.
    pub fn known_servers(&self) -> KnownServers<'_> {
        KnownServers {
            store: &self.store,
            data_dir: &self.data_dir,
        }
    }

    /// App connections (which vaults an app's bridge looks in).
    pub fn connections(&mut self) -> Connections<'_> {
        Connections {
            store: &mut self.store,
        }
    }

    /// Team servers and the rows of team vaults (docs/architecture.md,
    /// "Team vaults"); the servers themselves are the wiring's.
    pub fn team_catalog(&mut self) -> crate::team_catalog::TeamCatalog<'_> {
        crate::team_catalog::TeamCatalog {
            store: &mut self.store,
        }
    }

    /// The sealed last good values of team credentials, on a connection of
    /// its own (unlocking through the keychain if needed).
    pub fn team_last_good(&mut self) -> Result<crate::team_catalog::TeamLastGood> {
        let master = self.ring.master(&self.store)?;
        Ok(crate::team_catalog::TeamLastGood::new(
            &self.data_dir,
            master,
        ))
    }

    /// The audit trail.
    pub fn audit(&mut self) -> Audit<'_> {
        Audit {
            store: &mut self.store,
        }
    }

    /// Which credential a set of vaults uses for a server.
    pub fn resolver(&self) -> Resolver<'_> {
        Resolver::new(self.store.conn())
    }

    /// A read path that opens tokens without this engine: its own
    /// connections and a copy of the master key (unlocking through the
    /// keychain if needed). The proxy and direct mode use it.
    pub fn tokens(&mut self) -> Result<Tokens> {
        let master = self.ring.master(&self.store)?;
        Tokens::open(&self.data_dir, master)
    }

    /// A second connection that only records credential uses: its commits
    /// (and their fsync) never wait for, or block, this engine.
    pub fn usage_recorder(&self) -> Result<UsageRecorder> {
        UsageRecorder::open(&self.data_dir)
    }

    /// The database, for the crates beside the engine (sessions,
    /// `keybearer-apps`), which keep tables of their own in it.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// The master key (unlocking through the keychain if needed).
    pub(crate) fn master_key(&mut self) -> Result<crate::secret::MasterKey> {
        self.ring.master(&self.store)
    }

    /// Seals an app's settings file as it was before an import (it holds
    /// the tokens being imported), bound to the backup's id and app; for
    /// `keybearer-apps`, which never holds the master key itself.
    pub fn seal_app_backup(&mut self, id: &str, app: &str, text: &str) -> Result<Vec<u8>> {
        let master = self.master_key()?;
        crate::tokens::seal_backup(&master, id, app, text)
    }

    /// Opens what [`Engine::seal_app_backup`] sealed; wiped when dropped.
    pub fn open_app_backup(
        &mut self,
        id: &str,
        app: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<String>> {
        let master = self.master_key()?;
        crate::tokens::open_backup(&master, id, app, sealed)
    }

    pub fn status(&self) -> Result<Status> {
        let conn = self.store.conn();
        let protection = keys::Keys::protection_of(&self.store)?;
        // One keychain read serves both answers: keychain calls are slow and may prompt.
        let (keychain, key_is_current) = match self.ring.keychain().load(&self.ring.account()) {
            Ok(key) => (
                KeychainStatus::Available {
                    has_key: key.is_some(),
                },
                match &key {
                    Some(key) => keys::is_current_key(conn, key)?,
                    None => false,
                },
            ),
            Err(KeychainError::Locked(detail)) => (KeychainStatus::Locked { detail }, true),
            Err(KeychainError::Unavailable(detail)) => {
                (KeychainStatus::Unavailable { detail }, true)
            }
        };
        // Only a reachable keychain without the right key means recovery; an
        // unreachable one may simply be locked or not started yet.
        let recovery_needed = protection == Some(KeyProtection::Keychain) && !key_is_current;
        Ok(Status {
            data_dir: self.data_dir.clone(),
            keychain_account: self.ring.account(),
            initialized: protection.is_some(),
            protection,
            keychain,
            unlocked: self.ring.is_unlocked(),
            recovery_needed,
            active_environment: catalog::active_environment(&self.store)?,
            vaults: vaults::count(conn)?,
            credentials: credentials::count(conn)?,
            schema_version: migrations::current_version(conn)?,
        })
    }
}
