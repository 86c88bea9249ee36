//! `credential.used`: the audit record of a proxied request (and
//! `credential.echoed`, of an answer that repeated the credential), and a recorder
//! on its own database connection so that writing the audit trail (a commit
//! with a full fsync) never holds the engine that serves token lookups.

use std::collections::HashMap;
use std::path::Path;

use crate::audit::EventKind;
use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::store::events::{self, NewEvent};
use crate::store::{connections, credentials, vaults, Store};

pub use keybearer_source::{CredentialUse, UseKind};

/// Writes batches of [`CredentialUse`] through its own connection. Opened by
/// [`crate::Engine::usage_recorder`]; needs no key.
pub struct UsageRecorder {
    store: Store,
}

impl UsageRecorder {
    pub(crate) fn open(data_dir: &Path) -> Result<Self> {
        Ok(Self {
            store: Store::open(data_dir)?,
        })
    }

    /// Records the batch in one transaction.
    pub fn record(&mut self, uses: &[CredentialUse]) -> Result<()> {
        keybearer_source::UsageSink::record(self, uses)
    }
}

impl keybearer_source::UsageSink for UsageRecorder {
    fn record(&mut self, uses: &[CredentialUse]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let tx = self.store.write()?;
        insert(&tx, uses)?;
        tx.commit()?;
        Ok(())
    }
}

/// Audit events plus "last used" for each use, inside the caller's transaction.
/// A batch holds many uses of few credentials: each vault's environment is
/// read once, and "last used" is set once per credential (to its latest use).
pub(crate) fn insert(conn: &rusqlite::Connection, uses: &[CredentialUse]) -> Result<()> {
    let mut environments: HashMap<&str, Option<String>> = HashMap::new();
    let mut last_used: HashMap<&str, Timestamp> = HashMap::new();
    let mut connections_used: HashMap<&str, Timestamp> = HashMap::new();
    for used in uses {
        if !environments.contains_key(used.vault_id.as_str()) {
            let environment = match vaults::get(conn, &used.vault_id) {
                Ok(vault) => Some(vault.environment),
                Err(Error::NotFound { .. }) => None,
                Err(other) => return Err(other),
            };
            environments.insert(&used.vault_id, environment);
        }
        let environment = environments.get(used.vault_id.as_str()).cloned().flatten();
        let kind = match used.kind {
            UseKind::Used => EventKind::CredentialUsed,
            UseKind::Echoed => EventKind::CredentialEchoed,
        };
        let latest = last_used.entry(&used.credential_id).or_insert(used.at);
        if used.at > *latest {
            *latest = used.at;
        }
        if let Some(connection) = used.connection_id.as_deref() {
            let latest = connections_used.entry(connection).or_insert(used.at);
            if used.at > *latest {
                *latest = used.at;
            }
        }
        events::insert_counted(
            conn,
            &NewEvent {
                kind,
                at: Some(used.at),
                environment: environment.as_deref(),
                vault_id: Some(&used.vault_id),
                credential_id: Some(&used.credential_id),
                session_id: used.session_id.as_deref(),
                connection_id: used.connection_id.as_deref(),
                upstream_url: Some(&used.upstream_url),
                method: used.method.as_deref(),
                status: used.status,
                detail: used.detail.as_deref(),
            },
            used.count.max(1),
        )?;
    }
    for (credential_id, at) in last_used {
        credentials::mark_used(conn, credential_id, at)?;
    }
    for (connection_id, at) in connections_used {
        connections::mark_used(conn, connection_id, at)?;
    }
    Ok(())
}
