//! Team servers (docs/architecture.md, "Team vaults"): Settings → Team
//! servers. A CA certificate is pasted (public, PEM); its fingerprints are
//! shown first (`team_ca_fingerprints`) and the server is added only with
//! the fingerprints the user saw. A password or token travels UI → Rust
//! only, as a [`SecretText`], masked in any error; the token the server
//! hands out goes to the OS keychain. Each command is a call into
//! `keybearer-team-vaults`.

use std::sync::Arc;

use keybearer_team_vaults as team;
use keybearer_vault::{Error, TeamServerRecord, Vault};
use serde::Serialize;
use tauri::State;

use super::secret_input::SecretText;
use super::team_vault::{note_reach, Reach};
use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

/// Whether this computer is signed in to a team server.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum TeamSignIn {
    SignedIn {
        who: String,
    },
    SignedOut,
    /// The server could not be asked; `reason` says why.
    Unreachable {
        reason: String,
    },
}

/// A team server as Settings lists it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct TeamServerView {
    pub server: TeamServerRecord,
    pub sign_in: TeamSignIn,
    /// The words every screen uses for who can read its vaults' values.
    pub who_can_read: String,
}

#[tauri::command]
pub async fn list_team_servers(state: State<'_, AppState>) -> IpcResult<Vec<TeamServerView>> {
    state
        .run(|engine| {
            let servers = engine.team_catalog().servers()?;
            servers
                .into_iter()
                .map(|mut server| {
                    let asked = team::sign_in_state(&server);
                    let reach = match &asked {
                        Ok(team::SignInState::Unreachable { .. }) => Reach::Unreachable,
                        Ok(team::SignInState::SignedIn { .. }) => Reach::Answered,
                        // No sign-in saved (not asked), or not the server's doing.
                        Ok(team::SignInState::SignedOut) | Err(_) => Reach::Unknown,
                    };
                    server.unreachable_since = note_reach(engine, &server.id, reach)?;
                    let sign_in = match asked? {
                        team::SignInState::SignedIn { who } => TeamSignIn::SignedIn { who },
                        team::SignInState::SignedOut => TeamSignIn::SignedOut,
                        team::SignInState::Unreachable { reason, .. } => {
                            TeamSignIn::Unreachable { reason }
                        }
                    };
                    let who_can_read = team::who_can_read(&server);
                    Ok(TeamServerView {
                        server,
                        sign_in,
                        who_can_read,
                    })
                })
                .collect()
        })
        .await
}

/// The SHA-256 fingerprints of the certificates in a pasted CA (PEM), for
/// the user to compare before trusting it.
#[tauri::command]
pub async fn team_ca_fingerprints(pem: String) -> IpcResult<Vec<String>> {
    let answer = team::ca_fingerprints(pem.as_bytes()).map_err(Into::into);
    trace_ipc_answer(&answer);
    answer
}

/// Adds a team server. With `ca_pem`, `trusted_fingerprints` must be what
/// the user was shown for it; a CA that differs adds nothing.
#[tauri::command]
pub async fn add_team_server(
    state: State<'_, AppState>,
    address: String,
    name: Option<String>,
    mount: Option<String>,
    path_template: Option<String>,
    ca_pem: Option<String>,
    trusted_fingerprints: Vec<String>,
) -> IpcResult<TeamServerRecord> {
    state
        .run(move |engine| {
            let ca_pem = ca_pem.filter(|pem| !pem.trim().is_empty());
            if let Some(pem) = &ca_pem {
                if team::ca_fingerprints(pem.as_bytes())? != trusted_fingerprints {
                    return Err(Error::invalid(
                        "ca_pem",
                        "The CA certificate is not the one whose fingerprint you were shown. Check it again; nothing was added.",
                    ));
                }
            }
            let blank = |text: Option<String>| text.filter(|text| !text.trim().is_empty());
            let checked = team::check_server(&team::AddServer {
                address,
                name: blank(name),
                mount: blank(mount),
                path_template: blank(path_template),
                ca_pem: ca_pem.map(String::into_bytes),
                check_interval: None,
                last_good_limit: None,
            })?;
            team::add_server(engine, &checked)
        })
        .await
}

/// Signs in: with `user`, `secret` is the password (`userpass`); without,
/// it is a token. Answers the server's name for the signed-in user.
#[tauri::command]
pub async fn sign_in_team_server(
    state: State<'_, AppState>,
    server: String,
    user: Option<String>,
    secret: SecretText,
) -> IpcResult<String> {
    let secret = Arc::new(secret);
    let inside = Arc::clone(&secret);
    let answer = state
        .with_engine(move |engine| {
            let value = keybearer_vault::UserSecret::new(inside.copy());
            drop(inside);
            let user = user.filter(|user| !user.trim().is_empty());
            let how = match &user {
                Some(user) => team::SignIn::Password {
                    user,
                    password: &value,
                },
                None => team::SignIn::Token(&value),
            };
            team::sign_in(engine, &server, how).map(|who| who.display_name)
        })
        .await;
    let answer = secret.redact(answer);
    trace_ipc_answer(&answer);
    answer
}

/// Signs out: revoked on the server when it answers (`true`), removed here
/// with the kept values of its vaults either way.
#[tauri::command]
pub async fn sign_out_team_server(state: State<'_, AppState>, server: String) -> IpcResult<bool> {
    state
        .run(move |engine| {
            let record = engine.team_catalog().server(&server)?;
            team::sign_out(engine, &record)
        })
        .await
}

/// Removes a team server and this computer's entries of its vaults (they
/// stay on the server); signs out first.
#[tauri::command]
pub async fn remove_team_server(
    state: State<'_, AppState>,
    server: String,
) -> IpcResult<Vec<Vault>> {
    state
        .run(move |engine| {
            let record = engine.team_catalog().server(&server)?;
            let (_, vaults) = team::remove_server(engine, &record)?;
            super::apps::follow(engine);
            Ok(vaults)
        })
        .await
}

impl SecretText {
    /// `answer` with this value masked in its error message (values under
    /// four characters are left alone, as `SecretInput::redact` does).
    fn redact<T>(&self, answer: IpcResult<T>) -> IpcResult<T> {
        answer.map_err(|mut error: IpcError| {
            let value = self.copy();
            let value = value.trim();
            if value.len() >= 4 && error.message.contains(value) {
                error.message = error.message.replace(value, "••••");
            }
            error
        })
    }
}
