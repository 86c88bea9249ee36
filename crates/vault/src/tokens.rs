//! Tokens: the only code that seals or opens a stored token
//! (docs/architecture.md, "A token's path").
//!
//! Sealing and opening are AES-256-GCM under the master key with the
//! credential's id, vault id and URL as associated data (`crypto`), so a
//! ciphertext copied to another row does not open.
//!
//! [`Tokens`] is the read path of the injecting proxy (and of direct mode):
//! given a session's ordered vaults and a server URL it answers the winning
//! credential with its token opened. It holds no lock on the engine and
//! never leaves the calling thread: a small pool of read-only SQLite
//! connections, each with its own cache of opened tokens. Before every
//! answer the WAL index's header is read (`store::wal_stamp`: one small
//! file read, no lock); when it moved since the cache was last checked, the
//! connection's `PRAGMA data_version` is compared with the one its cache
//! was checked at; it moves whenever any other connection — this process's
//! engine, the audit recorder, the CLI in another process — committed. Then
//! the catalog's version (a counter that triggers move with every change
//! that can alter a resolution, migration 0004) is read, and if it moved the
//! cache is dropped. So a replaced or deleted token takes effect on the very
//! next request, while the audit trail written for every proxied request
//! does not empty the cache. A cache hit costs that header read and a map
//! lookup.
//!
//! Limits: opened tokens are zeroised when the last request holding one and
//! the cache have dropped them; the first reader that is free serves a
//! request, so under contention a token may be opened once per reader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rusqlite::Connection;
use secrecy::ExposeSecret;

use crate::credential_secret::CredentialSecret;
use crate::crypto;
use crate::error::{Error, Result};
use crate::model::Credential;
use crate::resolve::Resolver;
use crate::secret::MasterKey;
use crate::store::wal_stamp::{Stamp, WalStamp};
use crate::store::{connections, credentials, Store};

/// How many read connections one [`Tokens`] keeps: enough that concurrent
/// requests rarely wait for one another on two cores.
const READERS: usize = 4;

pub use keybearer_source::{InjectableToken, Injection};

use crate::local_source::{injection, secret_of};

/// Seals `secret` for `credential` (its id, vault and URL are bound in).
pub(crate) fn seal(
    master: &MasterKey,
    credential: &Credential,
    secret: &CredentialSecret,
) -> Result<Vec<u8>> {
    crypto::seal(master.as_bytes(), &secret.to_sealable(), &aad(credential))
}

/// Opens a sealed secret of the credential's kind; any mismatch is an
/// integrity error naming the credential.
pub(crate) fn open(
    master: &MasterKey,
    credential: &Credential,
    sealed: &[u8],
) -> Result<CredentialSecret> {
    let integrity = || Error::Integrity {
        credential_id: credential.id.clone(),
    };
    let plain =
        crypto::open(master.as_bytes(), sealed, &aad(credential)).map_err(|_| integrity())?;
    CredentialSecret::from_opened(credential.credential_type, plain.expose_secret())
        .ok_or_else(integrity)
}

/// Reads and opens the stored token of credential `id`.
pub(crate) fn open_stored(
    conn: &Connection,
    master: &MasterKey,
    id: &str,
) -> Result<(Credential, CredentialSecret)> {
    let (credential, sealed) = credentials::get_sealed(conn, id)?;
    let token = open(master, &credential, &sealed)?;
    Ok((credential, token))
}

/// Seals an app's settings file as it was before an import (it holds the
/// tokens being imported), bound to the backup's id and app.
pub(crate) fn seal_backup(master: &MasterKey, id: &str, app: &str, text: &str) -> Result<Vec<u8>> {
    crypto::seal(master.as_bytes(), text.as_bytes(), &backup_aad(id, app))
}

/// Opens a sealed settings file; the text is wiped when dropped.
pub(crate) fn open_backup(
    master: &MasterKey,
    id: &str,
    app: &str,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<String>> {
    let damaged = || Error::Integrity {
        credential_id: id.to_string(),
    };
    let plain =
        crypto::open(master.as_bytes(), sealed, &backup_aad(id, app)).map_err(|_| damaged())?;
    let text = std::str::from_utf8(plain.expose_secret()).map_err(|_| damaged())?;
    Ok(zeroize::Zeroizing::new(text.to_string()))
}

/// Seals a team credential's last good value (its stored form) for this
/// vault and URL (`team_catalog::TeamLastGood`).
pub(crate) fn seal_team_value(
    master: &MasterKey,
    vault_id: &str,
    url: &str,
    value: &[u8],
) -> Result<Vec<u8>> {
    crypto::seal(master.as_bytes(), value, &team_value_aad(vault_id, url))
}

/// Opens what [`seal_team_value`] sealed; wiped when dropped.
pub(crate) fn open_team_value(
    master: &MasterKey,
    vault_id: &str,
    url: &str,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let plain =
        crypto::open(master.as_bytes(), sealed, &team_value_aad(vault_id, url)).map_err(|_| {
            Error::Integrity {
                credential_id: format!("{vault_id} {url}"),
            }
        })?;
    Ok(zeroize::Zeroizing::new(plain.expose_secret().clone()))
}

fn team_value_aad(vault_id: &str, url: &str) -> Vec<u8> {
    [
        b"keybearer/team-last-good/v1".as_slice(),
        vault_id.as_bytes(),
        url.as_bytes(),
    ]
    .join(&0u8)
}

fn backup_aad(id: &str, app: &str) -> Vec<u8> {
    let mut aad = b"keybearer-app-backup\0".to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(app.as_bytes());
    aad
}

fn aad(credential: &Credential) -> Vec<u8> {
    crypto::credential_aad(
        &credential.id,
        &credential.vault_id,
        &credential.mcp_server_url,
    )
}

/// Resolves like [`Resolver::resolve`] and opens the winner's token, all
/// from one read snapshot.
fn resolve_and_open(
    conn: &Connection,
    master: &MasterKey,
    vault_ids: &[String],
    url: &str,
) -> Result<Option<Injection>> {
    let snapshot = conn.unchecked_transaction()?;
    let Some(resolution) = Resolver::new(&snapshot).resolve(vault_ids, url)? else {
        return Ok(None);
    };
    let (_, token) = open_stored(&snapshot, master, &resolution.credential.id)?;
    snapshot.finish()?;
    Ok(Some(injection(resolution, token)))
}

/// The proxy's read path (see the module header). Cheap to clone; dropping
/// the last clone closes its connections and zeroises its cached tokens.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    master: MasterKey,
    readers: Vec<Mutex<Reader>>,
    /// One OAuth refresh per credential at a time (`refresh.rs`).
    refreshing: crate::refresh::RefreshLocks,
}

#[derive(Default)]
struct Reader {
    conn: Option<Store>,
    /// The WAL index's header, beside `conn` (opened after it, dropped with it).
    wal: Option<WalStamp>,
    caches: Caches,
}

/// What one reader remembers between lookups.
#[derive(Default)]
struct Caches {
    /// The connection's `data_version` the caches were last checked at.
    seen: Option<i64>,
    /// The WAL index's header read just before that check.
    stamp: Option<Stamp>,
    /// The catalog's version the caches were filled at.
    catalog: Option<i64>,
    tokens: HashMap<String, Option<Arc<Injection>>>,
    /// App connections' vaults, by connection id (`None`: no such connection).
    connections: HashMap<String, Option<Arc<Vec<String>>>>,
}

impl Caches {
    fn clear(&mut self) {
        self.tokens.clear();
        self.connections.clear();
    }

    /// A connection's vaults from the cache, or read and cached if nothing
    /// was committed meanwhile.
    fn connection_vaults(
        &mut self,
        store: &Store,
        before: i64,
        connection_id: &str,
    ) -> Result<Option<Arc<Vec<String>>>> {
        if let Some(ids) = self.connections.get(connection_id) {
            return Ok(ids.clone());
        }
        let ids = match connections::get(store.conn(), connection_id) {
            Ok(connection) => Some(Arc::new(connection.vault_ids)),
            Err(Error::NotFound { .. }) => None,
            Err(other) => return Err(other),
        };
        if store.data_version()? == before {
            self.connections
                .insert(connection_id.to_string(), ids.clone());
        }
        Ok(ids)
    }

    /// The winning injection from the cache, or resolved and opened in one
    /// read snapshot and cached if nothing was committed meanwhile.
    fn injection(
        &mut self,
        store: &Store,
        master: &MasterKey,
        before: i64,
        vault_ids: &[String],
        url: &str,
    ) -> Result<Option<Arc<Injection>>> {
        let key = cache_key(vault_ids, url);
        if let Some(answer) = self.tokens.get(&key) {
            return Ok(answer.clone());
        }
        let answer = resolve_and_open(store.conn(), master, vault_ids, url)?.map(Arc::new);
        // Cache it only if nothing was committed while it was read; it is
        // fresh enough to serve this one request either way.
        if store.data_version()? == before {
            self.tokens.insert(key, answer.clone());
        }
        Ok(answer)
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

impl Tokens {
    /// A read path over the database in `data_dir`, opening tokens with
    /// `master`. Opens its first connection now, so a missing or too-new
    /// database is reported here, not at the first request.
    pub(crate) fn open(data_dir: &Path, master: MasterKey) -> Result<Self> {
        let mut readers: Vec<Mutex<Reader>> = (0..READERS).map(|_| Mutex::default()).collect();
        let conn = Store::open_reader(data_dir)?;
        readers[0] = Mutex::new(Reader {
            conn: Some(conn),
            wal: WalStamp::open(data_dir),
            ..Reader::default()
        });
        Ok(Self {
            inner: Arc::new(Inner {
                data_dir: data_dir.to_path_buf(),
                master,
                readers,
                refreshing: crate::refresh::RefreshLocks::default(),
            }),
        })
    }

    /// The credential these vaults (in this order) use for `url`, with its
    /// token opened; `None` when none of them has one. Refuses vaults of
    /// different environments. Pass the same spelling of `url` each time
    /// (the proxy passes the normalised credential URL): the cache is keyed
    /// by it as given.
    pub fn lookup(&self, vault_ids: &[String], url: &str) -> Result<Option<Arc<Injection>>> {
        let found = self.lookup_cached(vault_ids, url)?;
        if self.kept_fresh(found.as_deref())? {
            return self.lookup_cached(vault_ids, url);
        }
        Ok(found)
    }

    fn lookup_cached(&self, vault_ids: &[String], url: &str) -> Result<Option<Arc<Injection>>> {
        let mut guard = self.reader();
        let (caches, store, before) = self.fresh(&mut guard)?;
        caches.injection(store, &self.inner.master, before, vault_ids, url)
    }

    /// An OAuth credential marked "sign in again" is refused; one about to
    /// expire is refreshed first (`refresh.rs`). True when it was refreshed,
    /// so the caller looks it up again.
    fn kept_fresh(&self, found: Option<&Injection>) -> Result<bool> {
        let Some(injection) = found else {
            return Ok(false);
        };
        let credential = &injection.resolution.credential;
        if credential.needs_sign_in {
            return Err(Error::SignInRequired {
                url: credential.mcp_server_url.clone(),
            });
        }
        let Some(secret @ CredentialSecret::OAuth(stored)) = secret_of(injection) else {
            return Ok(false);
        };
        if !crate::refresh::due(secret) {
            return Ok(false);
        }
        crate::refresh::refresh(
            &mut crate::store::Store::open(&self.inner.data_dir)?,
            &self.inner.master,
            &self.inner.refreshing,
            &credential.id,
            &stored.grant.access_token,
            false,
        )?;
        Ok(true)
    }

    /// The server refused this injection's credential (401): an OAuth
    /// grant is refreshed once (unless another request already did), so the
    /// next lookup gets the new one. Other kinds: nothing to do.
    pub fn refused(&self, injection: &Injection) -> Result<()> {
        // A token or headers: nothing to renew; the sender's next lookup
        // reads what is stored now (a replacement committed meanwhile).
        let Some(CredentialSecret::OAuth(stored)) = secret_of(injection) else {
            return Ok(());
        };
        crate::refresh::refresh(
            &mut crate::store::Store::open(&self.inner.data_dir)?,
            &self.inner.master,
            &self.inner.refreshing,
            &injection.resolution.credential.id,
            &stored.grant.access_token,
            true,
        )
    }

    /// The server answered this injection's OAuth credential with a 403
    /// step-up request for `required` scopes: kept for the next sign-in
    /// (`refresh::want_scope`). Other kinds: nothing to do.
    pub fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()> {
        let Some(CredentialSecret::OAuth(stored)) = secret_of(injection) else {
            return Ok(());
        };
        let credential = &injection.resolution.credential;
        let wanted = crate::oauth::step_up_scope(stored.grant.scope.as_deref(), required);
        if credential.wanted_scope.as_deref() == Some(wanted.as_str()) {
            return Ok(()); // already kept: one write, not one per request
        }
        crate::refresh::want_scope(
            &mut crate::store::Store::open(&self.inner.data_dir)?,
            &credential.id,
            stored.grant.scope.as_deref(),
            required,
        )
    }

    /// The same for an app connection's bridge: the connection's vaults are
    /// read (and cached, and dropped, like tokens) on the same reader, so a
    /// change of its vaults or its removal takes effect at the next request.
    /// A removed connection is `NotFound`.
    pub fn lookup_for_connection(
        &self,
        connection_id: &str,
        url: &str,
    ) -> Result<Option<Arc<Injection>>> {
        let mut guard = self.reader();
        let (caches, store, before) = self.fresh(&mut guard)?;
        let vault_ids = caches.connection_vaults(store, before, connection_id)?;
        let Some(vault_ids) = vault_ids else {
            return Err(Error::not_found("connection", connection_id));
        };
        if vault_ids.is_empty() {
            // Its vaults were all deleted: it has no credential at all.
            return Ok(None);
        }
        let found = caches.injection(store, &self.inner.master, before, &vault_ids, url)?;
        drop(guard);
        if self.kept_fresh(found.as_deref())? {
            return self.lookup(&vault_ids, url);
        }
        Ok(found)
    }

    /// An app connection's vaults in order (`None`: no such connection), read
    /// and cached like [`Tokens::lookup_for_connection`] reads them: for a
    /// source that routes some of them elsewhere (team vaults).
    pub fn connection_vaults(&self, connection_id: &str) -> Result<Option<Arc<Vec<String>>>> {
        let mut guard = self.reader();
        let (caches, store, before) = self.fresh(&mut guard)?;
        caches.connection_vaults(store, before, connection_id)
    }

    /// The reader's connection, opened if needed, and its caches, dropped if
    /// the catalog moved since they were filled; and the `data_version` seen.
    fn fresh<'r>(&self, reader: &'r mut Reader) -> Result<(&'r mut Caches, &'r Store, i64)> {
        if reader.conn.is_none() {
            reader.conn = Some(Store::open_reader(&self.inner.data_dir)?);
            reader.wal = WalStamp::open(&self.inner.data_dir);
        }
        let Reader { conn, wal, caches } = reader;
        let Some(store) = conn.as_ref() else {
            return Err(Error::Io(std::io::Error::other("no database connection")));
        };
        // Read before the exact check, so a commit that lands in between
        // moves the header again and is caught next time.
        let stamp = wal.as_ref().and_then(WalStamp::read);
        if let (Some(stamp), Some(seen)) = (stamp, caches.seen) {
            if caches.stamp == Some(stamp) {
                return Ok((caches, store, seen));
            }
        }
        let before = store.data_version()?;
        if caches.seen != Some(before) {
            // Someone committed. Only a catalog change can alter an answer.
            let catalog = store.catalog_version()?;
            if caches.catalog != Some(catalog) {
                if !caches.tokens.is_empty() {
                    tracing::debug!(
                        entries = caches.tokens.len(),
                        "vaults changed; dropping cached tokens"
                    );
                }
                caches.clear();
                caches.catalog = Some(catalog);
            }
            caches.seen = Some(before);
        }
        caches.stamp = stamp;
        Ok((caches, store, before))
    }

    /// The first free reader (so without contention one warm cache serves
    /// everything), or the first one if all are busy: each is held for one
    /// lookup only, microseconds on a hit.
    fn reader(&self) -> MutexGuard<'_, Reader> {
        let readers = &self.inner.readers;
        for reader in readers {
            match reader.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return forget(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        match readers[0].lock() {
            Ok(guard) => guard,
            Err(poisoned) => forget(poisoned.into_inner()),
        }
    }
}

/// A reader whose holder panicked may be half-way through an update: start it afresh.
fn forget(mut reader: MutexGuard<'_, Reader>) -> MutexGuard<'_, Reader> {
    reader.caches = Caches::default();
    reader
}

/// One string per (vault order, URL): ids never contain a NUL byte, URLs are
/// rejected long before they could.
fn cache_key(vault_ids: &[String], url: &str) -> String {
    let mut key = String::with_capacity(url.len() + vault_ids.len() * 40);
    for id in vault_ids {
        key.push_str(id);
        key.push('\0');
    }
    key.push('\0');
    key.push_str(url);
    key
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;
