//! Credentials. Secrets (tokens, header values) only ever travel UI → Rust,
//! as a [`SecretInput`]; no command returns one.
//! After a change, connected apps' entries follow (`apps::follow`).
//! A team vault's (and a `tcr_…` credential's) go to its team server
//! (`keybearer-team-vaults`, docs/architecture.md "Team vaults").

use std::sync::Arc;

use keybearer_vault::{
    ConnectionTest, Credential, CredentialSecret, Engine, NewCredential, Protocol, UrlCheck,
};
use serde::Serialize;
use tauri::State;

use super::secret_input::SecretInput;
use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

#[tauri::command]
pub async fn list_credentials(
    state: State<'_, AppState>,
    vault_id: String,
) -> IpcResult<Vec<Credential>> {
    state
        .run(move |engine| {
            let vault = engine.catalog().vault(&vault_id)?;
            if vault.team.is_some() {
                return keybearer_team_vaults::list_credentials(engine, &vault);
            }
            engine.catalog().credentials(&vault_id)
        })
        .await
}

/// A team credential's id: its commands go to the team server.
fn is_team(id: &str) -> bool {
    id.trim()
        .starts_with(keybearer_team_vaults::CREDENTIAL_ID_PREFIX)
}

#[tauri::command]
pub async fn add_credential(
    state: State<'_, AppState>,
    vault_id: String,
    mcp_server_url: String,
    protocol: Option<Protocol>,
    secret: SecretInput,
) -> IpcResult<Credential> {
    with_secret(&state, secret, move |engine, secret| {
        let vault = engine.catalog().vault(&vault_id)?;
        if vault.team.is_some() {
            let credential = keybearer_team_vaults::add_credential(
                engine,
                &vault,
                &mcp_server_url,
                protocol,
                secret,
            )?;
            super::apps::follow(engine);
            return Ok(credential);
        }
        let new = NewCredential {
            mcp_server_url,
            protocol,
            secret,
        };
        let credential = engine.catalog().add_credential(&vault_id, new)?;
        super::apps::follow(engine);
        Ok(credential)
    })
    .await
}

/// Rotation for any kind (a token, headers, Basic); the kind may change.
#[tauri::command]
pub async fn replace_token(
    state: State<'_, AppState>,
    id: String,
    secret: SecretInput,
) -> IpcResult<Credential> {
    with_secret(&state, secret, move |engine, secret| {
        if is_team(&id) {
            return keybearer_team_vaults::replace_credential(engine, &id, secret);
        }
        let credential = engine.catalog().replace_secret(&id, secret)?;
        super::apps::follow(engine);
        Ok(credential)
    })
    .await
}

#[tauri::command]
pub async fn delete_credential(state: State<'_, AppState>, id: String) -> IpcResult<Credential> {
    state
        .run(move |engine| {
            let credential = if is_team(&id) {
                keybearer_team_vaults::delete_credential(engine, &id)?
            } else {
                engine.catalog().delete_credential(&id)?
            };
            super::apps::follow(engine);
            Ok(credential)
        })
        .await
}

#[tauri::command]
pub async fn check_server_url(url: String) -> IpcResult<UrlCheck> {
    let answer = keybearer_vault::check_server_url(&url).map_err(Into::into);
    trace_ipc_answer(&answer);
    answer
}

#[tauri::command]
pub async fn test_connection(
    mcp_server_url: String,
    protocol: Option<Protocol>,
    secret: SecretInput,
) -> IpcResult<ConnectionTest> {
    let input = Arc::new(secret);
    let inside = Arc::clone(&input);
    let job =
        move || keybearer_vault::test_connection(&mcp_server_url, protocol, &inside.to_secret()?);
    // A network probe: keep it off the UI thread and off the engine lock.
    let answer = tauri::async_runtime::spawn_blocking(job)
        .await
        .map_err(|_| IpcError::internal("connection test failed"))?
        .map_err(Into::into);
    let answer = input.redact(answer);
    trace_ipc_answer(&answer);
    answer
}

#[tauri::command]
pub async fn test_saved_credential(
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<ConnectionTest> {
    state
        .run(move |engine| {
            if is_team(&id) {
                return keybearer_team_vaults::test_credential(engine, &id).map(|(_, test)| test);
            }
            engine.catalog().test_saved_credential(&id)
        })
        .await
}

/// Runs `job` on the engine's blocking thread with the input validated into
/// the engine's secret; the answer is redacted of the input's values before
/// it is traced or sent. The input is wiped when the last copy is dropped.
async fn with_secret<T, F>(state: &AppState, input: SecretInput, job: F) -> IpcResult<T>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut Engine, CredentialSecret) -> keybearer_vault::Result<T> + Send + 'static,
{
    let input = Arc::new(input);
    let inside = Arc::clone(&input);
    let answer = state
        .with_engine(move |engine| {
            let secret = inside.to_secret()?;
            drop(inside);
            job(engine, secret)
        })
        .await;
    let answer = input.redact(answer);
    trace_ipc_answer(&answer);
    answer
}
