//! One source for a session or connection whose vaults live in different
//! places (docs/architecture.md, "Team vaults"): each vault id goes to the
//! source whose prefix it starts with (a team server's vaults, `tvl_…`),
//! every other id to the default source (the local store, `vlt_…`).
//!
//! Precedence stays the session's order: the vault ids are cut into runs of
//! consecutive ids of one source, and the runs are asked in order; the
//! first that has a credential for the URL wins, an error stops the lookup
//! (a later vault must not win because an earlier one could not be read).
//! A refusal or a step-up goes back to the source of the injection's vault.
//! App connections (`Scope::Connection`) are the default source's.
//!
//! Limits: each source checks the one-environment rule among its own
//! vaults; that a session's local and team vaults are of the same
//! environment is checked by whoever builds the sources for the session
//! (a team source is made for one environment). An injection's
//! `vault_position` counts within its run.

use std::sync::Arc;

use keybearer_base::error::Result;

use crate::{CredentialSource, Injection, Scope};

/// Lookups routed by vault id prefix.
pub struct Routed {
    default: Arc<dyn CredentialSource>,
    routes: Vec<(String, Arc<dyn CredentialSource>)>,
}

impl Routed {
    /// Every vault id no route claims goes to `default`.
    pub fn new(default: Arc<dyn CredentialSource>) -> Self {
        Self {
            default,
            routes: Vec::new(),
        }
    }

    /// Vault ids starting with `prefix` go to `source` (the first route
    /// whose prefix matches wins).
    #[must_use]
    pub fn route(mut self, prefix: impl Into<String>, source: Arc<dyn CredentialSource>) -> Self {
        self.routes.push((prefix.into(), source));
        self
    }

    /// The route of a vault id: its index in `routes`, or `None` for the default.
    fn route_of(&self, vault_id: &str) -> Option<usize> {
        self.routes
            .iter()
            .position(|(prefix, _)| vault_id.starts_with(prefix.as_str()))
    }

    fn source(&self, route: Option<usize>) -> &Arc<dyn CredentialSource> {
        route.map_or(&self.default, |at| &self.routes[at].1)
    }

    fn source_of(&self, injection: &Injection) -> &Arc<dyn CredentialSource> {
        self.source(self.route_of(&injection.ids.vault_id))
    }
}

impl CredentialSource for Routed {
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
        let vault_ids = match scope {
            Scope::Vaults(vault_ids) => vault_ids,
            Scope::Connection(_) => return self.default.lookup(scope, url),
        };
        let mut start = 0;
        while start < vault_ids.len() {
            let route = self.route_of(&vault_ids[start]);
            let end = vault_ids[start..]
                .iter()
                .position(|id| self.route_of(id) != route)
                .map_or(vault_ids.len(), |length| start + length);
            if let Some(found) = self
                .source(route)
                .lookup(Scope::Vaults(&vault_ids[start..end]), url)?
            {
                return Ok(Some(found));
            }
            start = end;
        }
        Ok(None)
    }

    fn refused(&self, injection: &Injection) -> Result<()> {
        self.source_of(injection).refused(injection)
    }

    fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()> {
        self.source_of(injection).wants_scope(injection, required)
    }

    fn settled(&self) -> bool {
        // Every source is asked, even after one said no.
        let mut settled = self.default.settled();
        for (_, source) in &self.routes {
            settled &= source.settled();
        }
        settled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use keybearer_base::model::{Credential, CredentialType, Protocol, Resolution, Timestamp};

    use super::*;
    use crate::{InjectableToken, OpenedSecret};

    struct Nothing;
    impl OpenedSecret for Nothing {
        fn expose_for_injection(&self) -> &str {
            ""
        }
        fn pairs(&self) -> Vec<(&str, zeroize::Zeroizing<String>)> {
            Vec::new()
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// A source holding credentials for the vaults in `has`, recording
    /// which vault runs it was asked for.
    struct Fake {
        has: &'static [&'static str],
        asked: Mutex<Vec<Vec<String>>>,
        refused: Mutex<u32>,
    }

    impl Fake {
        fn new(has: &'static [&'static str]) -> Arc<Self> {
            Arc::new(Self {
                has,
                asked: Mutex::default(),
                refused: Mutex::default(),
            })
        }
    }

    impl CredentialSource for Fake {
        fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
            let Scope::Vaults(ids) = scope else {
                return Ok(None);
            };
            self.asked.lock().expect("lock").push(ids.to_vec());
            let Some(position) = ids.iter().position(|id| self.has.contains(&id.as_str())) else {
                return Ok(None);
            };
            let credential = Credential {
                id: format!("crd_{}", ids[position]),
                vault_id: ids[position].clone(),
                mcp_server_url: url.into(),
                protocol: Protocol::StreamableHttp,
                credential_type: CredentialType::StaticBearer,
                header_names: Vec::new(),
                needs_sign_in: false,
                wanted_scope: None,
                created_at: Timestamp(0),
                last_used_at: None,
            };
            let resolution = Resolution {
                credential,
                vault_position: position,
                shadowed_credential_ids: Vec::new(),
            };
            Ok(Some(Arc::new(Injection::new(
                resolution,
                InjectableToken::new(Nothing),
                None,
            ))))
        }
        fn refused(&self, _: &Injection) -> Result<()> {
            *self.refused.lock().expect("lock") += 1;
            Ok(())
        }
        fn wants_scope(&self, _: &Injection, _: &str) -> Result<()> {
            Ok(())
        }
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn runs_are_asked_in_the_sessions_order_and_the_first_credential_wins() {
        let local = Fake::new(&["vlt_b"]);
        let team = Fake::new(&["tvl_c"]);
        let routed = Routed::new(local.clone()).route("tvl_", team.clone());
        let order = ids(&["vlt_a", "tvl_x", "tvl_c", "vlt_b"]);
        let found = routed
            .lookup(Scope::Vaults(&order), "https://mcp.example.com/mcp")
            .expect("lookup")
            .expect("found");
        // The team vault comes before the second local one: it wins.
        assert_eq!(found.ids.vault_id, "tvl_c");
        assert_eq!(*local.asked.lock().expect("lock"), vec![ids(&["vlt_a"])]);
        assert_eq!(
            *team.asked.lock().expect("lock"),
            vec![ids(&["tvl_x", "tvl_c"])]
        );
        routed.refused(&found).expect("refused");
        assert_eq!(*team.refused.lock().expect("lock"), 1);
        assert_eq!(*local.refused.lock().expect("lock"), 0);

        let none = ids(&["tvl_x", "vlt_a"]);
        assert!(routed
            .lookup(Scope::Vaults(&none), "https://mcp.example.com/mcp")
            .expect("lookup")
            .is_none());
    }
}
