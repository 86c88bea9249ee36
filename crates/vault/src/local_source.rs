//! The local store as a credential source (docs/architecture.md, "Crates",
//! "A token's path"): [`Tokens`] answers the proxy's and the bridge's
//! questions through the `keybearer-source` seam, and the secret it opened
//! rides behind each injection, opaque to them, until this part needs it
//! again (a refusal, a step-up, direct mode).

use std::sync::Arc;

use keybearer_source::{CredentialSource, InjectableToken, Injection, Scope};

use crate::credential_secret::CredentialSecret;
use crate::error::Result;
use crate::model::Resolution;
use crate::tokens::Tokens;

impl CredentialSource for Tokens {
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
        match scope {
            Scope::Vaults(vault_ids) => Tokens::lookup(self, vault_ids, url),
            Scope::Connection(connection_id) => self.lookup_for_connection(connection_id, url),
        }
    }

    fn refused(&self, injection: &Injection) -> Result<()> {
        Tokens::refused(self, injection)
    }

    fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()> {
        Tokens::wants_scope(self, injection, required)
    }

    fn settled(&self) -> bool {
        crate::refresh::settled()
    }
}

/// What the local store opened, behind an injection: the sender never
/// looks inside; this part finds it again (`secret_of`).
impl keybearer_source::OpenedSecret for CredentialSecret {
    fn expose_for_injection(&self) -> &str {
        match self {
            CredentialSecret::Bearer(token) => token.expose(),
            CredentialSecret::Headers(headers) => headers
                .first()
                .map_or("", crate::credential_secret::SecretHeader::expose_value),
            CredentialSecret::OAuth(stored) => stored.grant.access_token.expose_secret(),
        }
    }

    fn pairs(&self) -> Vec<(&str, zeroize::Zeroizing<String>)> {
        CredentialSecret::pairs(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The stored secret behind an injection this part made.
pub(crate) fn secret_of(injection: &Injection) -> Option<&CredentialSecret> {
    injection.token.downcast::<CredentialSecret>()
}

/// An injection of the local store: the headers made once, from the secret.
/// A refusal is reported back whatever the kind: an OAuth grant is renewed;
/// a token or headers may have been replaced meanwhile (a rotation: the
/// server dropped the old value while a request carrying it was on its
/// way), and the sender looks again before telling the agent.
pub(crate) fn injection(resolution: Resolution, token: CredentialSecret) -> Injection {
    let headers = token.http_headers();
    Injection::new(resolution, InjectableToken::new(token), headers).reporting_refusals()
}
