//! OAuth sign-in from the window (docs/architecture.md, "A token's path"):
//! `start_oauth_sign_in` refuses at once an address the vault already has
//! (given `vault_id`: nothing is started), discovers the server's sign-in
//! service (given a known server's `server_id`, with the endpoints its entry
//! pins for a service that publishes none), opens the
//! system browser at the sign-in's start address on 127.0.0.1 (through the
//! opener plugin's Rust API; the webview has no opener permission; the
//! address holds no secret, since the opener's command line is readable by
//! any program, and the listener sends the browser on) and keeps the pending
//! sign-in here under an id; `finish_oauth_sign_in` waits for the browser
//! and seals the grant into the vault, answering whether it can be renewed.
//! "Sign in again": `start_oauth_sign_in_again` names only the credential:
//! its address, the access its server asked for, and, for an OAuth app the
//! user made, that app's client id, secret and endpoints come from the
//! vault (sealed with the grant; the webview never has them again);
//! `finish_oauth_sign_in_again` puts the new grant in place and answers
//! whether it can be renewed, as a first sign-in does.
//! `cancel_oauth_sign_in` stops the wait. A grant that is not saved, for any
//! reason, is revoked at its service (the vault's add and replace do it;
//! `save` here when the vault was never reached). The grant never leaves
//! Rust: the answers are the id and the `Credential` (no token), and errors
//! never quote one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keybearer_vault::oauth::{
    self, ClientChoice, OAuthError, OAuthSecret, PendingSignIn, PreRegisteredClient, SignInOptions,
    StoredOAuth,
};
use keybearer_vault::{Credential, CredentialSecret, Engine, NewCredential, Protocol};
use serde::Serialize;
use tauri::{AppHandle, State};

use super::secret_input::SecretText;
use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

/// Sign-ins waiting for the browser, by id.
#[derive(Default)]
pub struct SignIns {
    next: AtomicU64,
    pending: Mutex<HashMap<String, Waiting>>,
}

struct Waiting {
    /// The address the sign-in was started for (the credential's URL).
    server_url: String,
    cancel: Arc<AtomicBool>,
    /// Taken by `finish_*`; the cancel handle stays until it ends.
    sign_in: Option<PendingSignIn>,
}

impl SignIns {
    fn insert(&self, server_url: String, sign_in: PendingSignIn) -> IpcResult<String> {
        let id = format!("sign-in-{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let waiting = Waiting {
            server_url,
            cancel: sign_in.cancel_handle(),
            sign_in: Some(sign_in),
        };
        self.lock()?.insert(id.clone(), waiting);
        Ok(id)
    }

    /// The pending sign-in and its server's address, for the one finisher.
    fn take(&self, id: &str) -> IpcResult<(String, PendingSignIn)> {
        let mut pending = self.lock()?;
        let waiting = pending.get_mut(id);
        match waiting.and_then(|w| w.sign_in.take().map(|s| (w.server_url.clone(), s))) {
            Some(taken) => Ok(taken),
            None => Err(keybearer_vault::Error::from(OAuthError::Cancelled).into()),
        }
    }

    fn remove(&self, id: &str) -> Option<Waiting> {
        self.pending.lock().ok()?.remove(id)
    }

    fn lock(&self) -> IpcResult<std::sync::MutexGuard<'_, HashMap<String, Waiting>>> {
        self.pending
            .lock()
            .map_err(|_| IpcError::internal("sign-in list lock poisoned"))
    }
}

/// A new OAuth credential, saved, and whether Keybearer can keep it fresh.
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SignedIn {
    pub credential: Credential,
    /// False when the service gave no refresh token: the sign-in ends when
    /// its access token expires.
    pub renewable: bool,
    /// One sentence saying so, for the user ("Keybearer keeps this sign-in
    /// fresh…", or when they will have to sign in again).
    pub renewal: String,
}

/// Starts signing in to `mcp_server_url` and opens the browser; answers the
/// sign-in's id. `client_id`: for services without dynamic registration
/// (GitHub), with `client_secret` when the service needs the app's secret
/// (wiped when dropped, never in an answer or a log).
/// `vault_id`: the vault the credential is for, refused at once (before
/// anything is started) when it already has one for this address.
/// `server_id`: the known server picked, whose entry may pin the sign-in
/// service's endpoints (used only for one of its own addresses, and only
/// where the service publishes no metadata).
#[tauri::command]
#[allow(clippy::too_many_arguments)] // Tauri passes each argument by name
pub async fn start_oauth_sign_in(
    app: AppHandle,
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    mcp_server_url: String,
    client_id: Option<String>,
    client_secret: Option<SecretText>,
    scope: Option<String>,
    vault_id: Option<String>,
    server_id: Option<String>,
) -> IpcResult<String> {
    let pinned = if vault_id.is_some() || server_id.is_some() {
        let url = mcp_server_url.clone();
        let known = state
            .with_engine(move |engine| {
                if let Some(vault_id) = vault_id {
                    engine.catalog().refuse_duplicate(&vault_id, &url)?;
                }
                Ok(server_id.and_then(|id| engine.known_servers().pinned_endpoints(&id, &url)))
            })
            .await;
        match known {
            Ok(pinned) => pinned,
            Err(error) => return traced(Err(error)),
        }
    } else {
        None
    };
    let mut options = SignInOptions {
        pinned,
        ..SignInOptions::default()
    };
    if let Some(client_id) = client_id.filter(|id| !id.trim().is_empty()) {
        let client_secret = client_secret
            .filter(|secret| !secret.is_blank())
            .map(|secret| OAuthSecret::new(secret.copy()));
        options.client = ClientChoice::PreRegistered(PreRegisteredClient {
            client_id: client_id.trim().to_string(),
            client_secret,
            token_endpoint_auth: None,
        });
    }
    options.scope = scope.filter(|scope| !scope.trim().is_empty());
    begin(&app, &sign_ins, mcp_server_url.trim().to_string(), options).await
}

/// Starts signing in again for credential `id` ("Sign in again"): its
/// address, the access its server asked for, and the client of its earlier
/// sign-in when the user made it (an OAuth app, e.g. GitHub's: id, secret
/// and endpoints read from the vault, never from the webview). Answers the
/// sign-in's id, for `finish_oauth_sign_in_again`.
#[tauri::command]
pub async fn start_oauth_sign_in_again(
    app: AppHandle,
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    id: String,
) -> IpcResult<String> {
    let known = state
        .with_engine(move |engine| {
            let credential = engine.catalog().credential(&id)?;
            let client = engine.catalog().sign_in_again_client(&credential.id)?;
            Ok((credential.mcp_server_url, credential.wanted_scope, client))
        })
        .await;
    let (url, scope, client) = match known {
        Ok(known) => known,
        Err(error) => return traced(Err(error)),
    };
    let options = SignInOptions {
        client,
        scope,
        ..SignInOptions::default()
    };
    begin(&app, &sign_ins, url, options).await
}

/// Discovery and the client (network: off the UI thread), then the browser;
/// the pending sign-in is kept under the id answered.
async fn begin(
    app: &AppHandle,
    sign_ins: &SignIns,
    url: String,
    options: SignInOptions,
) -> IpcResult<String> {
    let started = {
        let url = url.clone();
        // Discovery and registration are network calls: off the UI thread.
        tauri::async_runtime::spawn_blocking(move || oauth::start_sign_in(&url, &options))
            .await
            .map_err(|_| IpcError::internal("sign-in failed to start"))?
    };
    traced(match started {
        Ok(sign_in) => match open_browser(app, sign_in.browser_url()) {
            // Dropping the pending sign-in closes its listener.
            Err(error) => Err(error),
            Ok(()) => sign_ins.insert(url, sign_in),
        },
        Err(error) => Err(keybearer_vault::Error::from(error).into()),
    })
}

/// Waits for the browser, then saves the sign-in as a new credential.
#[tauri::command]
pub async fn finish_oauth_sign_in(
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    sign_in_id: String,
    vault_id: String,
    protocol: Option<Protocol>,
) -> IpcResult<SignedIn> {
    let (server_url, stored) = match wait(&sign_ins, &sign_in_id).await {
        Ok(waited) => waited,
        Err(error) => return traced(Err(error)),
    };
    let (renewable, renewal) = (stored.grant.renewable(), stored.grant.renewal_notice());
    traced(
        save(&state, stored, move |engine, stored| {
            let new = NewCredential {
                mcp_server_url: server_url,
                protocol,
                secret: CredentialSecret::OAuth(Box::new(stored)),
            };
            let credential = engine.catalog().add_credential(&vault_id, new)?;
            super::apps::follow(engine);
            Ok(SignedIn {
                credential,
                renewable,
                renewal,
            })
        })
        .await,
    )
}

/// Waits for the browser, then puts the sign-in in place of credential
/// `id`'s secret ("Sign in again"; the credential gets a new id), and says
/// whether Keybearer can keep it fresh.
#[tauri::command]
pub async fn finish_oauth_sign_in_again(
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    sign_in_id: String,
    id: String,
) -> IpcResult<SignedIn> {
    let stored = match wait(&sign_ins, &sign_in_id).await {
        Ok((_, stored)) => stored,
        Err(error) => return traced(Err(error)),
    };
    let (renewable, renewal) = (stored.grant.renewable(), stored.grant.renewal_notice());
    traced(
        save(&state, stored, move |engine, stored| {
            let secret = CredentialSecret::OAuth(Box::new(stored));
            let credential = engine.catalog().replace_secret(&id, secret)?;
            super::apps::follow(engine);
            Ok(SignedIn {
                credential,
                renewable,
                renewal,
            })
        })
        .await,
    )
}

/// Runs `job` with the grant on the engine. The vault revokes a grant it
/// could not save; one that never reached it (the engine could not be
/// opened, the job never ran) is revoked here.
async fn save<T, F>(state: &AppState, stored: StoredOAuth, job: F) -> IpcResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Engine, StoredOAuth) -> keybearer_vault::Result<T> + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Some(stored)));
    let handed = Arc::clone(&slot);
    let answer = state
        .with_engine(move |engine| {
            let stored = handed.lock().ok().and_then(|mut slot| slot.take());
            match stored {
                Some(stored) => job(engine, stored),
                None => Err(keybearer_vault::Error::from(OAuthError::Cancelled)),
            }
        })
        .await;
    let unsaved = slot.lock().ok().and_then(|mut slot| slot.take());
    if let Some(stored) = unsaved {
        let _ =
            tauri::async_runtime::spawn_blocking(move || keybearer_vault::revoke_grant(&stored))
                .await;
    }
    answer
}

/// Stops waiting for the browser; the finishing command answers "cancelled".
#[tauri::command]
pub async fn cancel_oauth_sign_in(
    sign_ins: State<'_, SignIns>,
    sign_in_id: String,
) -> IpcResult<()> {
    if let Some(waiting) = sign_ins.remove(&sign_in_id) {
        waiting.cancel.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// The browser's answer, exchanged for a grant, on a blocking thread.
async fn wait(sign_ins: &SignIns, id: &str) -> IpcResult<(String, StoredOAuth)> {
    let (server_url, sign_in) = sign_ins.take(id)?;
    let finished = tauri::async_runtime::spawn_blocking(move || sign_in.finish()).await;
    sign_ins.remove(id);
    let stored = finished
        .map_err(|_| IpcError::internal("sign-in failed"))?
        .map_err(keybearer_vault::Error::from)?;
    Ok((server_url, stored))
}

/// `answer`, written to the debug IPC trace first (as `AppState::run` does).
fn traced<T: serde::Serialize>(answer: IpcResult<T>) -> IpcResult<T> {
    trace_ipc_answer(&answer);
    answer
}

/// The system browser, through the opener plugin. Debug builds only: with
/// `KEYBEARER_TEST_OPENER=follow` the end-to-end tests' opener follows the
/// address instead (the start page's redirect, then their authorization
/// server's, which approves at once).
/// With `KEYBEARER_TEST_OPENER=record`, the address is appended to the file
/// `KEYBEARER_TEST_OPENER_FILE` instead, for a test that drives the sign-in
/// pages itself (a team server's OIDC sign-in, `team_oidc.rs`).
fn open_browser(app: &AppHandle, address: &str) -> IpcResult<()> {
    open_in_browser(app, address).map_err(Into::into)
}

/// [`open_browser`] for the engine's callers (its errors are the engine's).
pub(crate) fn open_in_browser(app: &AppHandle, address: &str) -> keybearer_vault::Result<()> {
    #[cfg(debug_assertions)]
    match std::env::var("KEYBEARER_TEST_OPENER").as_deref() {
        Ok("follow") => {
            test_opener::follow(address.to_string());
            return Ok(());
        }
        Ok("record") => {
            test_opener::record(address);
            return Ok(());
        }
        _ => {}
    }
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(address, None::<&str>)
        .map_err(|error| OAuthError::Browser(error.to_string()).into())
}

#[cfg(debug_assertions)]
mod test_opener {
    /// Appends `address` (the loopback start page: nothing secret) to the
    /// file the test named.
    pub fn record(address: &str) {
        use std::io::Write;
        let Some(path) = std::env::var_os("KEYBEARER_TEST_OPENER_FILE") else {
            return;
        };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{address}"));
        if let Err(error) = written {
            tracing::warn!(%error, "test opener could not record the address");
        }
    }

    /// GETs `address` on a thread of its own, following redirects (the start
    /// page's to the authorization server, its to the sign-in's callback),
    /// as a browser would; the answer is dropped.
    pub fn follow(address: String) {
        let spawned = std::thread::Builder::new()
            .name("test-opener".into())
            .spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .redirect(reqwest::redirect::Policy::limited(10))
                    .timeout(std::time::Duration::from_secs(120))
                    .build();
                let outcome = client.and_then(|client| client.get(address).send());
                match outcome {
                    Ok(response) => tracing::info!(status = %response.status(), "test opener done"),
                    Err(error) => {
                        tracing::warn!(error = %error.without_url(), "test opener failed")
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "test opener could not start");
        }
    }
}
