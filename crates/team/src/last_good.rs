//! The last good values of a team source beyond the process
//! (docs/architecture.md, "Team vaults"): the [`LastGoodStore`] a source may
//! be given (the wiring's seals them with the local master key in the
//! database), what the source keeps there, and what it takes back from it
//! when its first check finds the server out of reach. Whatever goes wrong
//! with the store is logged, never the lookup's failure.

use std::time::{Duration, Instant, SystemTime};

use keybearer_base::error::Result;
use zeroize::Zeroizing;

use crate::server::TeamServer;
use crate::settings::TeamVault;
use crate::source::{injection, Outcome, State, TeamSource};
use crate::vaults::TeamCredential;

/// Where a team source keeps the last value each credential's server
/// confirmed, beyond the process (see the module's header). `value` is the
/// credential's stored form (`{"url", "type", "token" | "headers"}`).
pub trait LastGoodStore: Send + Sync + 'static {
    fn keep(
        &self,
        vault_id: &str,
        url: &str,
        version: u64,
        confirmed_at: SystemTime,
        value: &[u8],
    ) -> Result<()>;
    /// The server confirmed `version` again.
    fn confirm(&self, vault_id: &str, url: &str, version: u64, at: SystemTime) -> Result<()>;
    /// The kept version, when it was confirmed, and its value.
    fn recall(&self, vault_id: &str, url: &str) -> Result<Option<Kept>>;
    fn forget(&self, vault_id: &str, url: &str) -> Result<()>;
    /// The source could not reach the team server `server_id` `at` (told
    /// once per outage, `reach.rs`), so the window can say since when.
    fn server_unreachable(&self, _server_id: &str, _at: SystemTime) -> Result<()> {
        Ok(())
    }
    /// The team server `server_id` answered again (or for the first time).
    fn server_reachable(&self, _server_id: &str) -> Result<()> {
        Ok(())
    }
}

/// A value a [`LastGoodStore`] kept.
pub struct Kept {
    pub version: u64,
    pub confirmed_at: SystemTime,
    pub value: Zeroizing<Vec<u8>>,
}

impl TeamSource {
    /// Runs `work` on the store, if there is one; its failure is logged,
    /// never the lookup's.
    pub(crate) fn kept(
        &self,
        vault: &TeamVault,
        work: impl FnOnce(&dyn LastGoodStore) -> Result<()>,
    ) {
        if let Some(store) = &self.last_good {
            if let Err(error) = work(store.as_ref()) {
                tracing::warn!(vault_id = %vault.id, code = %error.code(), "the last good team credential could not be kept");
            }
        }
    }

    /// The value the store kept, if the server confirmed it within the
    /// limit: it becomes the entry's outcome. True if so.
    pub(crate) fn recall(
        &self,
        state: &mut State,
        server: &TeamServer,
        vault: &TeamVault,
        position: usize,
        url: &str,
    ) -> bool {
        let Some(store) = &self.last_good else {
            return false;
        };
        let kept = match store.recall(&vault.id, url) {
            Ok(Some(kept)) => kept,
            Ok(None) => return false,
            Err(error) => {
                tracing::warn!(vault_id = %vault.id, code = %error.code(), "the last good team credential could not be read");
                return false;
            }
        };
        let age = SystemTime::now()
            .duration_since(kept.confirmed_at)
            .unwrap_or(Duration::ZERO);
        if age > server.settings().last_good_limit() {
            self.kept(vault, |store| store.forget(&vault.id, url));
            return false;
        }
        let Ok(mut fields) = serde_json::from_slice::<crate::kv::Fields>(&kept.value) else {
            return false;
        };
        let stored_url = fields.url.clone();
        if stored_url.as_deref() != Some(url) {
            return false;
        }
        let protocol = fields
            .protocol
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| keybearer_base::server_url::guess_protocol(url));
        let Ok(secret) = crate::secret::TeamSecret::from_fields(&mut fields) else {
            return false;
        };
        let credential = TeamCredential {
            url: url.to_string(),
            protocol,
            version: kept.version,
            written_at: String::new(),
            secret,
        };
        state.outcome = Some(Outcome::Present {
            injection: injection(server, vault, position, credential),
            version: kept.version,
        });
        state.confirmed = Some(Instant::now());
        state.confirmed_age = age;
        true
    }
}
