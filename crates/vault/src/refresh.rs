//! Keeping OAuth credentials fresh (docs/architecture.md, "OAuth"): the
//! proxy and the bridge ask the tokens part for a credential; when it is an
//! OAuth grant that expires within [`MARGIN_SECS`] (or the server just
//! refused it), it is refreshed here before use.
//!
//! Flow of one refresh: one refresh per credential at a time in this
//! process (a lock per credential id; requests that waited find the new
//! grant and do not refresh again) → a write transaction (`BEGIN
//! IMMEDIATE`, so Keybearer's other processes queue behind it) → the stored
//! grant read again inside it: if another process refreshed meanwhile, that
//! grant is used → else the refresh request (blocking, at most the OAuth
//! client's timeout) → the new grant, with a rotated refresh token, sealed
//! and committed (fsync) *before* anyone uses it, so a crash right after
//! loses nothing → `catalog_version` moves (trigger), every process's cached
//! grant is dropped at its next lookup.
//!
//! A refresh the authorization server refuses for good (`invalid_grant`,
//! revoked client) marks the credential "sign in again"
//! (`credentials.needs_sign_in`, an audit event), and every request for it
//! gets [`Error::SignInRequired`] at once instead of a refresh loop.
//! A process that is about to exit waits for the refreshes under way in it
//! ([`settled`]): killed between the server's answer and the commit, it
//! would lose the rotated refresh token (the server forgot the old one).
//! Limits: the refresh blocks the requesting thread (the proxy's or the
//! bridge's); a grant without an expiry is refreshed only after a 401;
//! SIGKILL during a refresh still loses the grant (sign in again).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::audit::EventKind;
use crate::credential_secret::CredentialSecret;
use crate::error::{Error, Result};
use crate::model::Timestamp;
use crate::oauth::OAuthSecret;
use crate::secret::MasterKey;
use crate::store::events::{self, NewEvent};
use crate::store::{credentials, vaults, Store};
use crate::tokens;

/// Refresh this long before the access token expires, at most; a token
/// living only minutes is refreshed in its last quarter.
pub(crate) const MARGIN_SECS: i64 = 60;

/// How long before its expiry a grant is renewed.
fn margin(grant: &crate::oauth::OAuthGrant) -> i64 {
    match (grant.obtained_at, grant.expires_at) {
        (Some(obtained), Some(expires)) => MARGIN_SECS.min((expires - obtained).max(0) / 4),
        _ => MARGIN_SECS,
    }
}

/// One lock per credential id, so one refresh is in flight per credential.
#[derive(Default)]
pub(crate) struct RefreshLocks(Mutex<HashMap<String, Arc<Mutex<()>>>>);

impl RefreshLocks {
    pub(crate) fn of(&self, credential_id: &str) -> Arc<Mutex<()>> {
        let mut locks = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(locks.entry(credential_id.to_string()).or_default())
    }
}

/// How many refreshes are under way in this process.
static UNDER_WAY: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// Counts one refresh under way while it lives.
struct UnderWay;

impl UnderWay {
    fn start() -> Self {
        *UNDER_WAY
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        Self
    }
}

impl Drop for UnderWay {
    fn drop(&mut self) {
        let mut count = UNDER_WAY
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *count = count.saturating_sub(1);
        UNDER_WAY.1.notify_all();
    }
}

/// Waits until no refresh is under way in this process, at most the OAuth
/// client's timeout plus a little for the commit; false if one still is.
pub fn settled() -> bool {
    let limit = crate::oauth::REQUEST_TIMEOUT + Duration::from_secs(2);
    let count = UNDER_WAY
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (count, _) = UNDER_WAY
        .1
        .wait_timeout_while(count, limit, |count| *count > 0)
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *count == 0
}

/// Whether this grant should be refreshed before use.
pub(crate) fn due(secret: &CredentialSecret) -> bool {
    match secret {
        CredentialSecret::OAuth(stored) => stored
            .grant
            .expires_within(Timestamp::now().0 / 1000, margin(&stored.grant)),
        _ => false,
    }
}

/// The stored credential `id`, opened, for a one-off use outside the proxy
/// and the bridge (a connection test): refused when it needs signing in
/// again, refreshed first when it is about to expire.
pub(crate) fn open_fresh(
    store: &mut Store,
    master: &MasterKey,
    id: &str,
) -> Result<(crate::model::Credential, CredentialSecret)> {
    let (credential, secret) = tokens::open_stored(store.conn(), master, id)?;
    if credential.needs_sign_in {
        return Err(Error::SignInRequired {
            url: credential.mcp_server_url,
        });
    }
    let CredentialSecret::OAuth(stored) = &secret else {
        return Ok((credential, secret));
    };
    if !due(&secret) {
        return Ok((credential, secret));
    }
    let seen = stored.grant.access_token.clone();
    refresh(store, master, &RefreshLocks::default(), id, &seen, false)?;
    tokens::open_stored(store.conn(), master, id)
}

/// A server asked for more access than the grant has (403
/// `insufficient_scope`): the scopes the next sign-in should ask for — the
/// grant's and the server's — are kept on the credential, with an audit
/// event, once per distinct request (repeats write nothing).
pub(crate) fn want_scope(
    store: &mut Store,
    id: &str,
    granted: Option<&str>,
    required: &str,
) -> Result<()> {
    let wanted = crate::oauth::step_up_scope(granted, required);
    if wanted.is_empty() {
        return Ok(());
    }
    let tx = store.write()?;
    let credential = credentials::get(&tx, id)?;
    if credential.wanted_scope.as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    credentials::set_wanted_scope(&tx, id, &wanted)?;
    let environment = vaults::get(&tx, &credential.vault_id)?.environment;
    events::insert(
        &tx,
        &NewEvent {
            environment: Some(&environment),
            vault_id: Some(&credential.vault_id),
            credential_id: Some(&credential.id),
            upstream_url: Some(&credential.mcp_server_url),
            detail: Some(&wanted),
            ..NewEvent::new(EventKind::CredentialScopeNeeded)
        },
    )?;
    tx.commit()?;
    tracing::info!(credential_id = %credential.id, scope = %wanted, "the server asked for more access");
    Ok(())
}

/// Refreshes the OAuth credential `id` unless someone already did: `seen` is
/// the access token the caller holds (a newer one stored means done);
/// `refused`: the server refused `seen`, so refresh even if not expired.
pub(crate) fn refresh(
    store: &mut Store,
    master: &MasterKey,
    locks: &RefreshLocks,
    id: &str,
    seen: &OAuthSecret,
    refused: bool,
) -> Result<()> {
    let _under_way = UnderWay::start();
    let lock = locks.of(id);
    let _one_at_a_time = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let tx = store.write()?;
    let (credential, secret) = tokens::open_stored(&tx, master, id)?;
    let CredentialSecret::OAuth(mut stored) = secret else {
        return Ok(());
    };
    if credential.needs_sign_in {
        return Err(Error::SignInRequired {
            url: credential.mcp_server_url,
        });
    }
    let newer = stored.grant.access_token != *seen;
    let fresh = !stored
        .grant
        .expires_within(Timestamp::now().0 / 1000, margin(&stored.grant));
    if newer || (fresh && !refused) {
        return Ok(()); // another request or process refreshed it
    }
    let environment = vaults::get(&tx, &credential.vault_id)?.environment;
    let event = |kind: EventKind, detail: &'static str| NewEvent {
        environment: Some(&environment),
        vault_id: Some(&credential.vault_id),
        credential_id: Some(&credential.id),
        upstream_url: Some(&credential.mcp_server_url),
        detail: Some(detail),
        ..NewEvent::new(kind)
    };
    // On a thread of its own: the OAuth client is blocking (it runs a
    // runtime of its own), and the caller may be an async request handler.
    let refreshed = std::thread::scope(|scope| {
        scope.spawn(|| stored.refresh()).join().unwrap_or_else(|_| {
            Err(crate::oauth::OAuthError::invalid(
                "refresh",
                "the refresh failed unexpectedly",
            ))
        })
    });
    match refreshed {
        Ok(()) => {
            let sealed = tokens::seal(master, &credential, &CredentialSecret::OAuth(stored))?;
            credentials::update_sealed(&tx, &credential.id, &sealed)?;
            events::insert(
                &tx,
                &event(EventKind::CredentialRefreshed, "access token renewed"),
            )?;
            tx.commit()?;
            tracing::info!(credential_id = %credential.id, "OAuth credential refreshed");
            Ok(())
        }
        Err(error) if error.needs_sign_in() => {
            credentials::mark_needs_sign_in(&tx, &credential.id)?;
            events::insert(&tx, &event(EventKind::CredentialSignInNeeded, error.code()))?;
            tx.commit()?;
            tracing::warn!(credential_id = %credential.id, code = error.code(), "OAuth refresh refused: sign in again");
            Err(Error::SignInRequired {
                url: credential.mcp_server_url,
            })
        }
        Err(error) => {
            tracing::warn!(credential_id = %credential.id, code = error.code(), "OAuth refresh failed");
            Err(error.into())
        }
    }
}
