//! The catalog's credentials: add, list, delete, replace (rotation), and the
//! checks that open a stored token without revealing it (integrity, and a
//! test connection to the server). Tokens are sealed and opened only by the
//! tokens part.
//!
//! An OAuth grant is revoked at its service (RFC 7009, when it offers that)
//! whenever the vault lets go of it: its credential deleted, or a new grant
//! that could not be saved (an add or a replacement that failed for any
//! reason), so no sign-in stays alive at the service that nothing here
//! holds. Callers that sign in first ask [`Catalog::refuse_duplicate`]
//! before the browser opens (docs/architecture.md, "OAuth").

use serde::Serialize;

use super::Catalog;
use crate::audit::EventKind;
use crate::credential_secret::CredentialSecret;
use crate::credential_secret::NewCredential;
use crate::error::{Error, Result};
use crate::model::{new_id, Credential, Timestamp, Vault};
use crate::probe::ConnectionTest;
use crate::secret::{AccessToken, MasterKey};
use crate::server_url::{guess_protocol, normalize_server_url, pin_localhost};
use crate::store::credentials as rows;
use crate::store::events::{self, NewEvent};
use crate::store::vaults;
use crate::tokens;

/// Result of checking one stored token without revealing it.
#[derive(Debug, Serialize)]
pub struct CredentialCheck {
    pub credential_id: String,
    pub mcp_server_url: String,
    pub ok: bool,
    pub error: Option<Error>,
}

impl Catalog<'_> {
    /// Adds a credential. An OAuth grant that cannot be saved (whatever the
    /// reason) is revoked at its service before the error is returned.
    pub fn add_credential(&mut self, vault: &str, new: NewCredential) -> Result<Credential> {
        let added = self.try_add_credential(vault, &new);
        if added.is_err() {
            revoke_unsaved(&new.secret);
        }
        added
    }

    fn try_add_credential(&mut self, vault: &str, new: &NewCredential) -> Result<Credential> {
        let vault = self.vault(vault)?;
        let master = self.ring.master(self.store)?;
        let tx = self.store.write()?;
        let credential = insert_new(&tx, &master, &vault, new)?;
        vaults::touch(&tx, &vault.id, credential.created_at)?;
        tx.commit()?;
        tracing::info!(credential_id = %credential.id, vault_id = %vault.id, "credential added");
        Ok(credential)
    }

    /// `Err(DuplicateUrl)` when vault `vault` already has a credential for
    /// `url` (normalised as an add would): for callers that must know before
    /// they make the secret, such as an OAuth sign-in in the browser.
    pub fn refuse_duplicate(&self, vault: &str, url: &str) -> Result<()> {
        let vault = self.vault(vault)?;
        let url = pin_localhost(&normalize_server_url(url)?);
        if rows::find_by_url(self.store.conn(), &vault.id, &url)?.is_some() {
            return Err(Error::DuplicateUrl { url });
        }
        Ok(())
    }

    pub fn credentials(&self, vault: &str) -> Result<Vec<Credential>> {
        let vault = self.vault(vault)?;
        rows::list(self.store.conn(), &vault.id)
    }

    pub fn credential(&self, id: &str) -> Result<Credential> {
        rows::get(self.store.conn(), id.trim())
    }

    pub fn delete_credential(&mut self, id: &str) -> Result<Credential> {
        // An OAuth grant is revoked at the service once it is gone from here
        // (RFC 7009, when the service offers it): read it while it exists.
        let grant = match rows::get(self.store.conn(), id.trim()) {
            Ok(found) if found.credential_type == crate::model::CredentialType::McpOauth => self
                .ring
                .master(self.store)
                .ok()
                .and_then(|master| tokens::open_stored(self.store.conn(), &master, &found.id).ok())
                .and_then(|(_, secret)| match secret {
                    CredentialSecret::OAuth(stored) => Some(stored),
                    _ => None,
                }),
            _ => None,
        };
        let tx = self.store.write()?;
        let credential = rows::get(&tx, id.trim())?;
        rows::delete(&tx, &credential.id)?;
        let environment = vaults::get(&tx, &credential.vault_id)?.environment;
        vaults::touch(&tx, &credential.vault_id, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&environment),
                vault_id: Some(&credential.vault_id),
                credential_id: Some(&credential.id),
                upstream_url: Some(&credential.mcp_server_url),
                ..NewEvent::new(EventKind::CredentialDeleted)
            },
        )?;
        tx.commit()?;
        self.store.checkpoint();
        tracing::info!(credential_id = %credential.id, "credential deleted");
        if let Some(stored) = grant {
            // The deletion stands whatever the revocation does.
            revoke_grant(&stored);
        }
        Ok(credential)
    }

    /// Rotation: deletes the credential and creates a new one for the same
    /// server with the new token, in one transaction. Returns the new credential.
    pub fn replace_token(&mut self, id: &str, token: AccessToken) -> Result<Credential> {
        self.replace_secret(id, token.into())
    }

    /// Rotation for any kind: the new secret (a token, headers, a grant)
    /// replaces the old one, as a new credential for the same server. A new
    /// OAuth grant that cannot be saved is revoked at its service.
    pub fn replace_secret(&mut self, id: &str, secret: CredentialSecret) -> Result<Credential> {
        let replaced = self.try_replace_secret(id, &secret);
        if replaced.is_err() {
            revoke_unsaved(&secret);
        }
        replaced
    }

    fn try_replace_secret(&mut self, id: &str, secret: &CredentialSecret) -> Result<Credential> {
        let master = self.ring.master(self.store)?;
        let tx = self.store.write()?;
        let old = rows::get(&tx, id.trim())?;
        let vault = vaults::get(&tx, &old.vault_id)?;
        rows::delete(&tx, &old.id)?;
        let new = insert_parts(
            &tx,
            &master,
            &vault,
            &old.mcp_server_url,
            Some(old.protocol),
            secret,
        )?;
        vaults::touch(&tx, &vault.id, new.created_at)?;
        let detail = format!("replaces {}", old.id);
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                credential_id: Some(&new.id),
                upstream_url: Some(&new.mcp_server_url),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::CredentialReplaced)
            },
        )?;
        tx.commit()?;
        self.store.checkpoint();
        tracing::info!(old = %old.id, new = %new.id, "token replaced");
        Ok(new)
    }

    /// How signing in again for OAuth credential `id` starts: as the same
    /// client when it is one the user made (an OAuth app: its id, its secret
    /// and its endpoints stay sealed in the vault and go only to that
    /// service; docs/architecture.md, "OAuth"), else with a registration of
    /// its own as a first sign-in would. A saved sign-in that cannot be read
    /// starts like a first one (signing in again replaces it).
    pub fn sign_in_again_client(&mut self, id: &str) -> Result<crate::oauth::ClientChoice> {
        use crate::oauth::{ClientChoice, RegistrationSource};
        let credential = rows::get(self.store.conn(), id.trim())?;
        if credential.credential_type != crate::model::CredentialType::McpOauth {
            return Err(Error::invalid(
                "id",
                "This credential was not made by signing in, so there is nothing to sign in again to. Replace its token instead.",
            ));
        }
        let master = self.ring.master(self.store)?;
        match tokens::open_stored(self.store.conn(), &master, &credential.id) {
            Ok((_, CredentialSecret::OAuth(stored)))
                if stored.registration.source == RegistrationSource::PreRegistered =>
            {
                Ok(ClientChoice::Existing(stored.registration))
            }
            Ok(_) => Ok(ClientChoice::Dynamic),
            Err(error) => {
                tracing::warn!(credential_id = %credential.id, code = %error.code(), "saved sign-in unreadable: signing in as a new client");
                Ok(ClientChoice::Dynamic)
            }
        }
    }

    /// Opens every stored token (of one vault, or all) to prove it is intact,
    /// without revealing any.
    pub fn check_credentials(&mut self, vault: Option<&str>) -> Result<Vec<CredentialCheck>> {
        let vault_id = vault.map(|v| self.vault(v)).transpose()?.map(|v| v.id);
        let master = self.ring.master(self.store)?;
        let ids = rows::all_ids(self.store.conn(), vault_id.as_deref())?;
        let mut checks = Vec::with_capacity(ids.len());
        for id in ids {
            let credential = rows::get(self.store.conn(), &id)?;
            let error = tokens::open_stored(self.store.conn(), &master, &id).err();
            if let Some(error) = &error {
                tracing::warn!(credential_id = %id, code = %error.code(), "stored token failed its integrity check");
            }
            checks.push(CredentialCheck {
                credential_id: credential.id,
                mcp_server_url: credential.mcp_server_url,
                ok: error.is_none(),
                error,
            });
        }
        Ok(checks)
    }

    /// Tests a saved credential against its server, without revealing the token.
    pub fn test_saved_credential(&mut self, id: &str) -> Result<ConnectionTest> {
        let master = self.ring.master(self.store)?;
        let id = id.trim();
        // An OAuth grant is tested as the proxy would use it: renewed when
        // about to expire, and once more after the server refused it.
        let (credential, token) = crate::refresh::open_fresh(self.store, &master, id)?;
        let mut result =
            crate::probe::probe(&credential.mcp_server_url, credential.protocol, &token);
        if let (CredentialSecret::OAuth(stored), crate::probe::ConnectionOutcome::Unauthorized) =
            (&token, result.outcome)
        {
            let seen = stored.grant.access_token.clone();
            drop(token);
            let locks = crate::refresh::RefreshLocks::default();
            crate::refresh::refresh(self.store, &master, &locks, id, &seen, true)?;
            let (_, renewed) = tokens::open_stored(self.store.conn(), &master, id)?;
            result = crate::probe::probe(&credential.mcp_server_url, credential.protocol, &renewed);
        } else {
            drop(token);
        }
        let environment = vaults::get(self.store.conn(), &credential.vault_id)?.environment;
        let outcome = serde_json::to_value(result.outcome)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        events::insert(
            self.store.conn(),
            &NewEvent {
                environment: Some(&environment),
                vault_id: Some(&credential.vault_id),
                credential_id: Some(&credential.id),
                upstream_url: Some(&credential.mcp_server_url),
                status: result.http_status.map(i64::from),
                detail: Some(&outcome),
                ..NewEvent::new(EventKind::CredentialTested)
            },
        )?;
        Ok(result)
    }
}

/// Inserts a credential with its sealed token and the `credential.created`
/// event, inside the caller's transaction.
pub fn insert(
    conn: &rusqlite::Connection,
    master: &MasterKey,
    vault: &Vault,
    new: NewCredential,
) -> Result<Credential> {
    insert_new(conn, master, vault, &new)
}

fn insert_new(
    conn: &rusqlite::Connection,
    master: &MasterKey,
    vault: &Vault,
    new: &NewCredential,
) -> Result<Credential> {
    refuse_team_vault(vault)?;
    insert_parts(
        conn,
        master,
        vault,
        &new.mcp_server_url,
        new.protocol,
        &new.secret,
    )
}

fn insert_parts(
    conn: &rusqlite::Connection,
    master: &MasterKey,
    vault: &Vault,
    url: &str,
    protocol: Option<crate::model::Protocol>,
    secret: &CredentialSecret,
) -> Result<Credential> {
    let url = pin_localhost(&normalize_server_url(url)?);
    if rows::find_by_url(conn, &vault.id, &url)?.is_some() {
        return Err(Error::DuplicateUrl { url });
    }
    // A sign-in is bound to the server it was made for: stored under
    // another address, its access token would be sent to that server.
    if let CredentialSecret::OAuth(stored) = secret {
        let signed_in_for = normalize_server_url(&stored.server_url)
            .map(|u| pin_localhost(&u))
            .unwrap_or_default();
        if signed_in_for != url {
            return Err(Error::invalid(
                "credential",
                format!(
                    "This sign-in was made for {}, not for {url}, so it was not saved. Sign in again from this server's credential.",
                    keybearer_base::text::printable(&stored.server_url)
                ),
            ));
        }
    }
    let credential = Credential {
        id: new_id("cred"),
        vault_id: vault.id.clone(),
        protocol: protocol.unwrap_or_else(|| guess_protocol(&url)),
        mcp_server_url: url,
        credential_type: secret.kind(),
        header_names: secret.header_names(),
        needs_sign_in: false,
        wanted_scope: None,
        created_at: Timestamp::now(),
        last_used_at: None,
    };
    let sealed = tokens::seal(master, &credential, secret)?;
    rows::insert(conn, &credential, &sealed)?;
    events::insert(
        conn,
        &NewEvent {
            environment: Some(&vault.environment),
            vault_id: Some(&vault.id),
            credential_id: Some(&credential.id),
            upstream_url: Some(&credential.mcp_server_url),
            ..NewEvent::new(EventKind::CredentialCreated)
        },
    )?;
    Ok(credential)
}

/// Revokes `secret`'s grant when it is an OAuth one that was not saved.
fn revoke_unsaved(secret: &CredentialSecret) {
    if let CredentialSecret::OAuth(stored) = secret {
        tracing::info!("an OAuth grant could not be saved: revoking it");
        revoke_grant(stored);
    }
}

/// Revokes an OAuth grant at its service (RFC 7009), best effort: on a
/// thread of its own (the OAuth client blocks and may be called from an
/// async caller), each request within the OAuth client's timeout.
pub fn revoke_grant(stored: &crate::oauth::StoredOAuth) {
    let revoked = std::thread::scope(|scope| scope.spawn(|| stored.revoke()).join());
    match revoked {
        Ok(Ok(outcome)) => tracing::info!(?outcome, "OAuth grant revoked"),
        Ok(Err(error)) => tracing::warn!(code = error.code(), "OAuth grant not revoked"),
        Err(_) => tracing::warn!("OAuth revocation failed unexpectedly"),
    }
}

/// A team vault's credentials live on its team server, never here: a
/// front end that reached the local store with one has a bug, refused
/// before anything is sealed.
pub(crate) fn refuse_team_vault(vault: &Vault) -> Result<()> {
    match &vault.team {
        None => Ok(()),
        Some(team) => Err(Error::invalid(
            "vault",
            format!(
                "\"{}\" is a team vault: its credentials are kept on the team server {} ({}), not on this computer.",
                vault.display_name, team.server_name, team.server_address
            ),
        )),
    }
}
