//! Whether a team source's servers answer, told to its [`LastGoodStore`]
//! (docs/architecture.md, "Team vaults"), so the window can say "team
//! server unreachable since …" even when a session or a bridge — another
//! process — was the first to find it out of reach.
//!
//! Flow: every check of a cache entry ends in an answer of the server (any
//! answer, a refusal too: it is reachable) or a failure to reach it
//! (`TeamError::is_unreachable`). The store is told only when that differs
//! from what this source told it last about that server, so an outage is
//! one write and a server that keeps answering costs nothing after the
//! first check. The store keeps the first failure's time until an answer
//! (the wiring's writes `team_servers.unreachable_since`, migration 0017).
//!
//! Limits: a source without a store tells no one; a failure to record is
//! logged, never the lookup's.

use std::sync::PoisonError;
use std::time::SystemTime;

use keybearer_base::error::{Error, Result};

use crate::server::TeamServer;
use crate::source::TeamSource;

impl TeamSource {
    /// Tells the store whether `server` answered this check (`checked`).
    pub(crate) fn note_reach<T>(&self, server: &TeamServer, checked: &Result<T>) {
        let reachable = match checked {
            Ok(_) => true,
            Err(Error::Team(error)) => !error.is_unreachable(),
            // Not the server's doing (a bad address): says nothing of it.
            Err(_) => return,
        };
        let Some(store) = &self.last_good else {
            return;
        };
        let id = server.settings().id();
        {
            let mut told = self.reach.lock().unwrap_or_else(PoisonError::into_inner);
            if told.get(id) == Some(&reachable) {
                return;
            }
            told.insert(id.to_string(), reachable);
        }
        let recorded = if reachable {
            store.server_reachable(id)
        } else {
            store.server_unreachable(id, SystemTime::now())
        };
        if let Err(error) = recorded {
            tracing::warn!(server = %server.address(), code = %error.code(), "whether the team server answers could not be recorded");
        }
    }
}
