//! The authorization code flow for a native app (RFC 8252, OAuth 2.1):
//! PKCE S256, a random `state`, `resource` (RFC 8707), the scopes of
//! `scope.rs` (with `prompt=consent` for `offline_access`), and a listener on
//! 127.0.0.1 (`listener.rs`) that sends the browser on from a one-shot start
//! page to the authorization address and takes its answer on `/callback`;
//! then `iss` is checked (RFC 9207), the code exchanged, and a small "you can
//! close this tab" page shown.
//!
//! The browser is opened by the caller (`opener`) with the start page's
//! address, never the authorization address (which holds `state` and the
//! challenge): the desktop through its opener plugin, the CLI through the
//! system's opener, tests with an HTTP client. docs/architecture.md, "OAuth".

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::discovery::{discover_with, Discovery};
use super::error::{error_reason, quote_field, OAuthError};
use super::http::Http;
use super::listener::{Callback, Listener, Wait};
use super::pinned::PinnedEndpoints;
use super::pkce::{random_token, Pkce};
use super::registration::{resolve_client, ClientChoice};
use super::scope::{needs_consent, requested_scope};
use super::token::exchange_code;
use super::{ClientRegistration, OAuthSecret, RegistrationSource, StoredOAuth};

/// How long sign-in waits for the browser by default.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// How to sign in.
#[derive(Clone, Debug)]
pub struct SignInOptions {
    pub client: ClientChoice,
    /// The scopes to ask for (space-separated). `None`: the server's 401
    /// challenge's, else all its metadata lists, else none. Either way
    /// `offline_access` is added when the service lists it (`scope.rs`).
    pub scope: Option<String>,
    /// The name the service shows for Keybearer (dynamic registration).
    pub client_name: String,
    /// How long to wait for the browser.
    pub timeout: Duration,
    /// The service's endpoints, for when it publishes no metadata (a catalog
    /// entry's; `pinned.rs`). Signing in again as an earlier client the user
    /// made uses that sign-in's endpoints without being told.
    pub pinned: Option<PinnedEndpoints>,
}

impl Default for SignInOptions {
    fn default() -> Self {
        Self {
            client: ClientChoice::Dynamic,
            scope: None,
            client_name: "Keybearer".to_string(),
            timeout: DEFAULT_SIGN_IN_TIMEOUT,
            pinned: None,
        }
    }
}

/// Signs in to the MCP server at `server_url`: discovery, client
/// registration, the browser (through `opener`, given
/// [`PendingSignIn::browser_url`]), the code exchange. Blocks until the browser answers, the
/// timeout passes, or the opener fails.
pub fn sign_in(
    server_url: &str,
    options: &SignInOptions,
    opener: &dyn Fn(&str) -> keybearer_base::Result<()>,
) -> Result<StoredOAuth, OAuthError> {
    let pending = start_sign_in(server_url, options)?;
    opener(pending.browser_url()).map_err(|error| OAuthError::Browser(error.to_string()))?;
    pending.finish()
}

/// The first half of [`sign_in`]: everything up to the browser. Open
/// [`PendingSignIn::browser_url`], then call [`PendingSignIn::finish`].
pub fn start_sign_in(
    server_url: &str,
    options: &SignInOptions,
) -> Result<PendingSignIn, OAuthError> {
    let http = Http::new();
    let pinned = options
        .pinned
        .clone()
        .or_else(|| PinnedEndpoints::of_earlier(&options.client));
    let discovery = discover_with(&http, server_url, pinned.as_ref())?;
    PendingSignIn::start(http, discovery, options)
}

/// A sign-in waiting for the browser's answer.
pub struct PendingSignIn {
    http: Http,
    discovery: Discovery,
    registration: ClientRegistration,
    listener: Listener,
    redirect_uri: String,
    authorization_url: String,
    browser_url: String,
    state: OAuthSecret,
    pkce: Pkce,
    scope: Option<String>,
    timeout: Duration,
    cancelled: Arc<AtomicBool>,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("server_url", &self.discovery.server_url)
            .field("issuer", &self.registration.issuer)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl PendingSignIn {
    /// Opens the listener, settles the client, and builds the authorization
    /// address for an already discovered server.
    pub fn from_discovery(
        discovery: Discovery,
        options: &SignInOptions,
    ) -> Result<Self, OAuthError> {
        Self::start(Http::new(), discovery, options)
    }

    fn start(
        http: Http,
        discovery: Discovery,
        options: &SignInOptions,
    ) -> Result<Self, OAuthError> {
        let listener = Listener::bind(preferred_port(&options.client))?;
        let redirect_uri = listener.redirect_uri();
        let scope = requested_scope(options.scope.as_deref(), &discovery);
        let registration = resolve_client(
            &http,
            &discovery,
            &options.client,
            &redirect_uri,
            &options.client_name,
            scope.as_deref(),
        )?;
        let state = random_token()?;
        let pkce = Pkce::generate()?;
        let mut url = Url::parse(&registration.authorization_endpoint).map_err(|_| {
            OAuthError::bad(
                "The sign-in service",
                "its sign-in page address is not valid",
            )
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &registration.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", state.expose_secret())
                .append_pair("resource", &discovery.resource);
            if let Some(scope) = &scope {
                query.append_pair("scope", scope);
            }
            if needs_consent(scope.as_deref()) {
                query.append_pair("prompt", "consent");
            }
        }
        Ok(Self {
            http,
            discovery,
            registration,
            browser_url: listener.start_url(),
            listener,
            redirect_uri,
            authorization_url: url.into(),
            state,
            pkce,
            scope,
            timeout: options.timeout,
            cancelled: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address to give the browser opener (`http://127.0.0.1:<port>/start/<random>`):
    /// the listener sends its first visitor on to [`Self::authorization_url`],
    /// and stops the sign-in if a second one comes. It holds neither `state`
    /// nor the PKCE challenge, so it may go on a command line.
    pub fn browser_url(&self) -> &str {
        &self.browser_url
    }

    /// The authorization address itself (with `state` and the PKCE
    /// challenge): to show the user on their own screen, never to pass as
    /// an argument to another program (others can read it there). Opening
    /// it works as well as the start page.
    pub fn authorization_url(&self) -> &str {
        &self.authorization_url
    }

    /// Where the browser is sent back to (`http://127.0.0.1:<port>/callback`).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// What sign-in found out about the server.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The client this sign-in uses.
    pub fn registration(&self) -> &ClientRegistration {
        &self.registration
    }

    /// Set it to stop [`PendingSignIn::finish`] (within 50 ms) with `Cancelled`.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    /// Waits for the browser's answer (the first one with this sign-in's
    /// `state`; others are ignored), checks it, exchanges the code.
    pub fn finish(self) -> Result<StoredOAuth, OAuthError> {
        let wait = Wait {
            authorization_url: &self.authorization_url,
            state: &self.state,
            timeout: self.timeout,
            cancelled: &self.cancelled,
        };
        self.listener
            .wait(&wait, |callback| self.complete(callback))
    }

    /// The rest of an answer that carries this sign-in's `state` (the
    /// listener took no other).
    fn complete(&self, callback: Callback) -> Result<StoredOAuth, OAuthError> {
        let metadata = &self.discovery.auth_server;
        match &callback.iss {
            // No metadata confirmed the issuer (`pinned.rs`).
            Some(_) if self.discovery.pinned => {
                tracing::info!(
                    "the answer's iss is not compared: the service publishes no metadata"
                );
            }
            Some(iss) if iss != &metadata.issuer => {
                return Err(OAuthError::IssMismatch {
                    problem: format!(
                        "it names \"{}\" instead of \"{}\"",
                        quote_field(Some(iss), &[]).unwrap_or_default(),
                        metadata.issuer
                    ),
                })
            }
            // An error answer without `iss` ends sign-in all the same.
            None if metadata.authorization_response_iss_parameter_supported
                && callback.error.is_none() =>
            {
                return Err(OAuthError::IssMismatch {
                    problem: "it names no issuer, although the service says it always does"
                        .to_string(),
                })
            }
            _ => {}
        }
        if callback.error.is_some() {
            return Err(OAuthError::AuthorizationDenied {
                reason: error_reason(
                    callback.error.as_deref(),
                    callback.error_description.as_deref(),
                    400,
                    &[],
                ),
            });
        }
        let Some(code) = callback.code else {
            return Err(OAuthError::bad(
                "The sign-in service",
                "its answer to the browser has no authorization code",
            ));
        };
        let grant = exchange_code(
            &self.http,
            &self.registration,
            &code,
            self.pkce.verifier(),
            &self.redirect_uri,
            &self.discovery.resource,
            self.scope.as_deref(),
        )?;
        Ok(StoredOAuth {
            server_url: self.discovery.server_url.clone(),
            resource: self.discovery.resource.clone(),
            registration: self.registration.clone(),
            grant,
        })
    }
}

/// A dynamic registration's own port is tried first, so that the same
/// client (registered for that exact redirect address) can be kept.
fn preferred_port(choice: &ClientChoice) -> u16 {
    match choice {
        ClientChoice::Existing(existing) if existing.source == RegistrationSource::Dynamic => {
            existing
                .redirect_uri
                .as_deref()
                .and_then(|uri| Url::parse(uri).ok())
                .and_then(|url| url.port())
                .unwrap_or(0)
        }
        _ => 0,
    }
}
