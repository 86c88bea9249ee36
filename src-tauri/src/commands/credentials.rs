//! Credentials. Tokens only ever travel UI → Rust; no command returns one.
//! After a change, connected apps' entries follow (`apps::follow`).

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
                secret: AccessToken::new(access_token)?.into(),
            };
            let credential = engine.catalog().add_credential(&vault_id, new)?;
            super::apps::follow(engine);
            Ok(credential)
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
            let credential = engine
                .catalog()
                .replace_token(&id, AccessToken::new(access_token)?)?;
            super::apps::follow(engine);
            Ok(credential)
        })
        .await
}

#[tauri::command]
pub async fn delete_credential(state: State<'_, AppState>, id: String) -> IpcResult<Credential> {
    state
        .run(move |engine| {
            let credential = engine.catalog().delete_credential(&id)?;
            super::apps::follow(engine);
            Ok(credential)
        })
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
        let token = vault_core::CredentialSecret::from(AccessToken::new(access_token)?);
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
