//! Audit: the trail of what happened (docs/architecture.md, "Audit").
//!
//! [`EventKind`] is every kind of event the engine records, as one enum:
//! stored in the `events` table by its dotted name (`credential.replaced`),
//! exported to TypeScript as a union of those names so the UI's label table
//! is checked complete by the compiler. Recording goes through
//! `store::events::insert`, inside the transaction of the change it records
//! (or, for proxied requests, through a [`UsageRecorder`](crate::UsageRecorder)
//! on its own connection); listing through [`Audit::events`]. An event holds
//! ids and request metadata, never a token or a body.

use crate::error::Result;
use crate::model::Event;
use crate::resolve::Resolver;
use crate::store::{events, Store};
use crate::usage::{self, CredentialUse};

pub use keybearer_base::event_kind::EventKind;

/// Reading the trail, and recording a credential's use outside the proxy
/// (direct mode), borrowed from the [`Engine`](crate::Engine).
pub struct Audit<'e> {
    pub(crate) store: &'e mut Store,
}

impl Audit<'_> {
    /// Newest first; of one vault (by id or name) or of everything. A
    /// deleted vault's history is still listed by its id.
    pub fn events(&self, vault: Option<&str>, limit: u32) -> Result<Vec<Event>> {
        let vault_id = vault.map(|v| {
            Resolver::new(self.store.conn())
                .vault(v)
                .map(|v| v.id)
                .unwrap_or_else(|_| v.trim().to_string())
        });
        events::list(self.store.conn(), vault_id.as_deref(), limit)
    }

    /// Records that a credential was used (audit event + "last used").
    pub fn record_use(&mut self, used: &CredentialUse) -> Result<()> {
        let tx = self.store.write()?;
        usage::insert(&tx, std::slice::from_ref(used))?;
        tx.commit()?;
        Ok(())
    }
}
