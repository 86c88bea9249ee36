//! A signed-in team server (docs/architecture.md, "Team vaults"): its
//! client, the token (kept in the OS keychain, in memory in a wiped
//! buffer, never logged), who it belongs to, and its renewal.
//!
//! Flow: [`TeamServer::sign_in`] (`userpass`) or [`TeamServer::resume`]
//! (the token saved in the keychain) → `lookup-self` says who it is and how
//! long it lives → a thread renews it (`renew-self`) when half of its time
//! to live is left, until the server stops allowing it (its maximum TTL)
//! → [`TeamServer::sign_out`] revokes it (`revoke-self`) and removes it
//! from the keychain.
//!
//! A refused request (401, 403) is told apart with `lookup-self`: the
//! token is still good → the policy denies this path
//! ([`TeamError::Denied`], naming it); the token is not → signed out
//! ([`TeamError::SignInRequired`]). Once signed out, or past a known
//! expiry, nothing more is sent to the server until the user signs in
//! again: no loop of refused requests.
//!
//! Limits: one token per team server and process; another Keybearer
//! process that signs in again saves a new token, which this process reads
//! only when it resumes.

use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::Method;
use keybearer_base::error::{Error, Result};
use keybearer_base::secret::UserSecret;
use keybearer_base::team_error::TeamError;
use zeroize::Zeroizing;

use crate::auth::{self, Lease, Who};
use crate::client::{BaoClient, Reply};
use crate::keychain;
use crate::settings::TeamServerSettings;

/// A renewal that failed (server out of reach) is tried again this soon
/// (sooner when less than twice this is left).
const RENEWAL_RETRY: Duration = Duration::from_secs(5);

/// A signed-in team server; clones share the sign-in.
#[derive(Clone)]
pub struct TeamServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TeamServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamServer")
            .field("id", &self.inner.settings.id())
            .field("address", &self.inner.settings.address())
            .finish_non_exhaustive()
    }
}

struct Inner {
    settings: TeamServerSettings,
    client: BaoClient,
    state: Mutex<TokenState>,
    /// Dropped with the server: the renewal thread then ends.
    _stop_renewing: Mutex<Option<mpsc::Sender<()>>>,
}

struct TokenState {
    /// `None` once signed out (or refused): nothing is sent any more.
    token: Option<Zeroizing<String>>,
    who: Who,
    lease: Lease,
    /// When the token expires, if it does.
    expires: Option<Instant>,
    /// The last renewal that failed (the server out of reach).
    failed_renewal: Option<Instant>,
    /// Started from the keychain while the server was out of reach: who
    /// the token is and how long it lives are not known yet.
    offline: bool,
}

/// What a team server says of itself before anyone signs in (`sys/health`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub initialized: bool,
    pub sealed: bool,
    /// `2.1.0` (OpenBao) or `1.17.2` (HashiCorp Vault); empty if not said.
    pub version: String,
}

/// How long an offline start waits before asking the server again who the
/// token is.
const OFFLINE_RETRY: Duration = Duration::from_secs(30);

impl TeamServer {
    /// Signs in with a user name and password (`userpass`) and saves the
    /// token in the keychain, replacing the one saved before.
    pub fn sign_in(
        settings: TeamServerSettings,
        user: &str,
        password: &UserSecret,
    ) -> Result<Self> {
        let client = BaoClient::new(&settings)?;
        let grant = auth::login_userpass(&client, user, password.expose())?;
        let (who, lease) = auth::lookup_self(&client, &grant.token)?;
        keychain::save(settings.id(), &grant.token)?;
        tracing::info!(server = %settings.address(), "signed in to the team server");
        Ok(Self::start(settings, client, grant.token, who, lease))
    }

    /// Signs in through the browser with the server's OIDC auth method
    /// (`oidc.rs`; `opener` gets the loopback start page's address) and
    /// saves the token in the keychain, replacing the one saved before.
    pub fn sign_in_oidc(
        settings: TeamServerSettings,
        options: &crate::oidc::OidcOptions,
        opener: &dyn Fn(&str) -> Result<()>,
    ) -> Result<Self> {
        let client = BaoClient::new(&settings)?;
        let grant = crate::oidc::login_oidc(&client, options, opener)?;
        let (who, lease) = auth::lookup_self(&client, &grant.token)?;
        keychain::save(settings.id(), &grant.token)?;
        tracing::info!(server = %settings.address(), "signed in to the team server with OIDC");
        Ok(Self::start(settings, client, grant.token, who, lease))
    }

    /// Signs in with a token the user pasted (one their administrator made,
    /// or `bao login` printed): checked with `lookup-self`, then saved in the
    /// keychain, replacing the one saved before.
    pub fn sign_in_with_token(settings: TeamServerSettings, token: &UserSecret) -> Result<Self> {
        let client = BaoClient::new(&settings)?;
        let token = Zeroizing::new(token.expose().trim().to_string());
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "token",
                "That is not a team server token: paste the whole token, on one line. Nothing was saved.",
            ));
        }
        let (who, lease) = match auth::lookup_self(&client, &token) {
            Err(Error::Team(TeamError::SignInRequired { .. })) => {
                return Err(Error::invalid(
                    "token",
                    "The team server did not accept that token (it may have expired or been revoked). Nothing was saved.",
                ))
            }
            other => other?,
        };
        keychain::save(settings.id(), &token)?;
        tracing::info!(server = %settings.address(), "signed in to the team server with a token");
        Ok(Self::start(settings, client, token, who, lease))
    }

    /// The sign-in saved in the keychain, checked with the server; none
    /// saved, or one the server no longer accepts, is "sign in again".
    pub fn resume(settings: TeamServerSettings) -> Result<Self> {
        let client = BaoClient::new(&settings)?;
        let Some(token) = keychain::load(settings.id())? else {
            return Err(auth::sign_in_required(&client));
        };
        let (who, lease) = auth::lookup_self(&client, &token)?;
        Ok(Self::start(settings, client, token, who, lease))
    }

    /// Like [`TeamServer::resume`], but a server out of reach is not an
    /// error: the saved sign-in is used as it is (who it is, and how long it
    /// lives, asked again every 30 seconds until the server answers), so a
    /// session or a bridge started meanwhile can use the last good values.
    pub fn resume_or_offline(settings: TeamServerSettings) -> Result<Self> {
        let client = BaoClient::new(&settings)?;
        let Some(token) = keychain::load(settings.id())? else {
            return Err(auth::sign_in_required(&client));
        };
        match auth::lookup_self(&client, &token) {
            Ok((who, lease)) => Ok(Self::start(settings, client, token, who, lease)),
            Err(Error::Team(error)) if error.is_unreachable() => {
                tracing::warn!(server = %settings.address(), code = %error.code(), "team server out of reach: starting with the saved sign-in");
                let server = Self::start(
                    settings,
                    client,
                    token,
                    Who {
                        display_name: String::new(),
                        entity_id: None,
                    },
                    Lease {
                        ttl: None,
                        renewable: false,
                    },
                );
                server.inner.state().offline = true;
                Ok(server)
            }
            Err(other) => Err(other),
        }
    }

    /// Whether a sign-in is saved in the keychain for this server (not
    /// checked with it).
    pub fn has_saved_sign_in(settings: &TeamServerSettings) -> Result<bool> {
        Ok(keychain::load(settings.id())?.is_some())
    }

    /// Signs out without a running sign-in: the saved token (if any) is
    /// revoked on the server and removed from the keychain. `Ok(false)`:
    /// the server could not be reached or refused, so it was only removed
    /// here.
    pub fn sign_out_saved(settings: &TeamServerSettings) -> Result<bool> {
        let Some(token) = keychain::load(settings.id())? else {
            return Ok(true);
        };
        let revoked = match BaoClient::new(settings)
            .and_then(|client| auth::revoke_self(&client, &token))
        {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(code = %error.code(), "the team server did not revoke the sign-in");
                false
            }
        };
        keychain::delete(settings.id())?;
        tracing::info!(server = %settings.address(), revoked, "signed out of the team server");
        Ok(revoked)
    }

    /// `sys/health`, without a sign-in: whether the server answers, over a
    /// connection this computer trusts (the CA file's, or the system's).
    pub fn health(settings: &TeamServerSettings) -> Result<Health> {
        let client = BaoClient::new(settings)?;
        let reply = client.call(
            Method::GET,
            "sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200",
            None,
            None,
        )?;
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            initialized: bool,
            #[serde(default)]
            sealed: bool,
            #[serde(default)]
            version: String,
        }
        match reply.status {
            200 | 429 | 472 | 473 => {
                let body: Body = reply.json(client.address())?;
                Ok(Health {
                    initialized: body.initialized,
                    sealed: body.sealed,
                    version: body.version,
                })
            }
            status => Err(auth::unexpected(&client, status)),
        }
    }

    fn start(
        settings: TeamServerSettings,
        client: BaoClient,
        token: Zeroizing<String>,
        who: Who,
        lease: Lease,
    ) -> Self {
        let (stop, stopped) = mpsc::channel();
        let inner = Arc::new(Inner {
            settings,
            client,
            state: Mutex::new(TokenState {
                token: Some(token),
                who,
                lease,
                expires: lease.ttl.map(|ttl| Instant::now() + ttl),
                failed_renewal: None,
                offline: false,
            }),
            _stop_renewing: Mutex::new(Some(stop)),
        });
        let weak = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("keybearer-team-renewal".into())
            .spawn(move || renew_while_alive(&weak, &stopped));
        if spawned.is_err() {
            tracing::warn!("the team sign-in renewal could not start; it will expire at its time");
        }
        Self { inner }
    }

    /// Revokes the token on the server and removes it from this computer.
    /// `Ok(false)`: the server could not be reached, so the token was only
    /// removed here (it stops working on the server at its expiry).
    pub fn sign_out(&self) -> Result<bool> {
        let token = self.inner.state().token.take();
        let revoked = match &token {
            Some(token) => match auth::revoke_self(&self.inner.client, token) {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(code = %error.code(), "the team server did not revoke the sign-in");
                    false
                }
            },
            None => true,
        };
        keychain::delete(self.inner.settings.id())?;
        tracing::info!(server = %self.inner.settings.address(), revoked, "signed out of the team server");
        Ok(revoked)
    }

    /// Who the sign-in belongs to, as the server named it at sign-in (asked
    /// now if this process started while the server was out of reach).
    pub fn who(&self) -> Who {
        if self.inner.state().offline {
            self.inner.renew();
        }
        self.inner.state().who.clone()
    }

    pub fn settings(&self) -> &TeamServerSettings {
        &self.inner.settings
    }

    /// Whether the server still holds a valid sign-in here.
    pub fn is_signed_in(&self) -> bool {
        self.inner.token().is_ok()
    }

    /// `sys/capabilities-self` for each path.
    pub(crate) fn capabilities(
        &self,
        paths: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<String>>> {
        let token = self.inner.token()?;
        auth::capabilities_self(&self.inner.client, &token, paths)
            .inspect_err(|error| self.inner.signed_out_if(error))
    }

    /// `method` on `/v1/<path>`; a 401 or 403 becomes "sign in again" or
    /// "not allowed to `action` `shown`" (see the module's header). Every
    /// other answer is the caller's to read.
    pub(crate) fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Zeroizing<Vec<u8>>>,
        action: &'static str,
        shown: &str,
    ) -> Result<Reply> {
        let token = self.inner.token()?;
        let reply = self.inner.client.call(method, path, Some(&token), body)?;
        if !matches!(reply.status, 401 | 403) {
            return Ok(reply);
        }
        match auth::lookup_self(&self.inner.client, &token) {
            Ok(_) => Err(Error::Team(TeamError::Denied {
                server: self.inner.settings.address().to_string(),
                path: shown.to_string(),
                action,
            })),
            Err(error) => {
                self.inner.signed_out_if(&error);
                Err(error)
            }
        }
    }

    pub(crate) fn address(&self) -> &str {
        self.inner.settings.address()
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token to send, or "sign in again" without asking the server
    /// (signed out, or past its expiry).
    fn token(&self) -> Result<Zeroizing<String>> {
        let mut state = self.state();
        if state.expires.is_some_and(|at| at <= Instant::now()) {
            state.token = None;
        }
        state.token.clone().ok_or_else(|| {
            Error::Team(TeamError::SignInRequired {
                server: self.settings.address().to_string(),
            })
        })
    }

    /// After the server refused the token itself: nothing more is sent.
    fn signed_out_if(&self, error: &Error) {
        if matches!(error, Error::Team(TeamError::SignInRequired { .. }))
            && self.state().token.take().is_some()
        {
            tracing::warn!(server = %self.settings.address(), "the team server no longer accepts the sign-in");
        }
    }

    /// How long until the next renewal; `None` when none is due (signed
    /// out, or a token that does not expire or cannot be renewed).
    fn next_renewal(&self) -> Option<Duration> {
        let state = self.state();
        state.token.as_ref()?;
        if state.offline {
            return Some(OFFLINE_RETRY);
        }
        if !state.lease.renewable {
            return None;
        }
        let (ttl, expires) = (state.lease.ttl?, state.expires?);
        let left = expires.saturating_duration_since(Instant::now());
        let mut wait = left.saturating_sub(ttl / 2);
        if let Some(failed) = state.failed_renewal {
            // Out of reach a moment ago: again soon, before it expires.
            let retry = RENEWAL_RETRY.min(left / 2);
            wait = wait.max(retry.saturating_sub(failed.elapsed()));
        }
        Some(wait.max(Duration::from_millis(200)))
    }

    fn renew(&self) {
        let Ok(token) = self.token() else {
            return;
        };
        if self.state().offline {
            // Who the token is, and how long it lives, now that the server
            // may answer.
            match auth::lookup_self(&self.client, &token) {
                Ok((who, lease)) => {
                    let mut state = self.state();
                    state.who = who;
                    state.lease = lease;
                    state.expires = lease.ttl.map(|ttl| Instant::now() + ttl);
                    state.offline = false;
                    tracing::info!(server = %self.settings.address(), "team server in reach again");
                }
                Err(error) => self.signed_out_if(&error),
            }
            return;
        }
        match auth::renew_self(&self.client, &token) {
            Ok(lease) => {
                let mut state = self.state();
                state.failed_renewal = None;
                // A token that can no longer be renewed keeps its expiry.
                if let Some(ttl) = lease.ttl {
                    state.expires = Some(Instant::now() + ttl);
                    state.lease = lease;
                } else {
                    state.lease.renewable = false;
                }
                tracing::debug!(server = %self.settings.address(), "team sign-in renewed");
            }
            Err(error) => {
                tracing::warn!(code = %error.code(), "the team sign-in could not be renewed");
                self.state().failed_renewal = Some(Instant::now());
                self.signed_out_if(&error);
            }
        }
    }
}

/// The renewal thread: renews when due, ends when the server is dropped.
fn renew_while_alive(server: &std::sync::Weak<Inner>, stopped: &mpsc::Receiver<()>) {
    loop {
        let wait = match server.upgrade() {
            Some(inner) => inner.next_renewal(),
            None => return,
        };
        match stopped.recv_timeout(wait.unwrap_or(Duration::from_secs(60))) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if wait.is_none() {
            continue;
        }
        match server.upgrade() {
            Some(inner) => inner.renew(),
            None => return,
        }
    }
}
