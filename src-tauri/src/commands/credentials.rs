//! Credentials. Tokens only ever travel UI → Rust; no command returns one.

use tauri::State;
use vault_core::{AccessToken, ConnectionTest, Credential, NewCredential, Protocol, UrlCheck};

use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_credentials(
    state: State<'_, AppState>,
    vault_id: String,
) -> IpcResult<Vec<Credential>> {
    state
        .run(move |engine| engine.catalog().credentials(&vault_id))
        .await
}

#[tauri::command]
pub async fn add_credential(
    state: State<'_, AppState>,
    vault_id: String,
    mcp_server_url: String,
    protocol: Option<Protocol>,
    access_token: String,
) -> IpcResult<Credential> {
    state
        .run(move |engine| {
            let new = NewCredential {
                mcp_server_url,
                protocol,
                access_token: AccessToken::new(access_token)?,
            };
            engine.catalog().add_credential(&vault_id, new)
        })
        .await
}

#[tauri::command]
pub async fn replace_token(
    state: State<'_, AppState>,
    id: String,
    access_token: String,
) -> IpcResult<Credential> {
    state
        .run(move |engine| {
            engine
                .catalog()
                .replace_token(&id, AccessToken::new(access_token)?)
        })
        .await
}

#[tauri::command]
pub async fn delete_credential(state: State<'_, AppState>, id: String) -> IpcResult<Credential> {
    state
        .run(move |engine| engine.catalog().delete_credential(&id))
        .await
}

#[tauri::command]
pub async fn check_server_url(url: String) -> IpcResult<UrlCheck> {
    let answer = vault_core::check_server_url(&url).map_err(Into::into);
    crate::state::trace_ipc_answer(&answer);
    answer
}

#[tauri::command]
pub async fn test_connection(
    mcp_server_url: String,
    protocol: Option<Protocol>,
    access_token: String,
) -> IpcResult<ConnectionTest> {
    let job = move || {
        let token = AccessToken::new(access_token)?;
        vault_core::test_connection(&mcp_server_url, protocol, &token)
    };
    // A network probe: keep it off the UI thread and off the engine lock.
    let answer = tauri::async_runtime::spawn_blocking(job)
        .await
        .map_err(|_| crate::error::IpcError::internal("connection test failed"))?
        .map_err(Into::into);
    crate::state::trace_ipc_answer(&answer);
    answer
}

#[tauri::command]
pub async fn test_saved_credential(
    state: State<'_, AppState>,
    id: String,
) -> IpcResult<ConnectionTest> {
    state
        .run(move |engine| engine.catalog().test_saved_credential(&id))
        .await
}
