//! OAuth sign-in from the window (docs/architecture.md, "A token's path"):
//! `start_oauth_sign_in` refuses at once an address the vault already has
//! (given `vault_id`: nothing is started), discovers the server's sign-in
//! service, opens the
//! system browser at the sign-in's start address on 127.0.0.1 (through the
//! opener plugin's Rust API; the webview has no opener permission; the
//! address holds no secret, since the opener's command line is readable by
//! any program, and the listener sends the browser on) and keeps the pending
//! sign-in here under an id; `finish_oauth_sign_in` waits for the browser
//! and seals the grant into the vault, answering whether it can be renewed
//! (`finish_oauth_sign_in_again` replaces an existing credential's secret);
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
) -> IpcResult<String> {
    if let Some(vault_id) = vault_id {
        let url = mcp_server_url.clone();
        let free = state
            .with_engine(move |engine| engine.catalog().refuse_duplicate(&vault_id, &url))
            .await;
        if let Err(error) = free {
            return traced(Err(error));
        }
    }
    let mut options = SignInOptions::default();
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
    let url = mcp_server_url.trim().to_string();
    let started = {
        let url = url.clone();
        // Discovery and registration are network calls: off the UI thread.
        tauri::async_runtime::spawn_blocking(move || oauth::start_sign_in(&url, &options))
            .await
            .map_err(|_| IpcError::internal("sign-in failed to start"))?
    };
    traced(match started {
        Ok(sign_in) => match open_browser(&app, sign_in.browser_url()) {
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
/// `id`'s secret ("Sign in again"; the credential gets a new id).
#[tauri::command]
pub async fn finish_oauth_sign_in_again(
    state: State<'_, AppState>,
    sign_ins: State<'_, SignIns>,
    sign_in_id: String,
    id: String,
) -> IpcResult<Credential> {
    let stored = match wait(&sign_ins, &sign_in_id).await {
        Ok((_, stored)) => stored,
        Err(error) => return traced(Err(error)),
    };
    traced(
        save(&state, stored, move |engine, stored| {
            let secret = CredentialSecret::OAuth(Box::new(stored));
            let credential = engine.catalog().replace_secret(&id, secret)?;
            super::apps::follow(engine);
            Ok(credential)
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
fn open_browser(app: &AppHandle, address: &str) -> IpcResult<()> {
    #[cfg(debug_assertions)]
    if std::env::var("KEYBEARER_TEST_OPENER").as_deref() == Ok("follow") {
        test_opener::follow(address.to_string());
        return Ok(());
    }
    use tauri_plugin_opener::OpenerExt;
    app.opener()
        .open_url(address, None::<&str>)
        .map_err(|error| {
            keybearer_vault::Error::from(OAuthError::Browser(error.to_string())).into()
        })
}

#[cfg(debug_assertions)]
mod test_opener {
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
