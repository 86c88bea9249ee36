//! Vaults. Deleting one makes connected apps' entries follow (`apps::follow`).

use keybearer_vault::Vault;
use tauri::State;

use super::team_vault::{vault_view, VaultView};
use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_vaults(
    state: State<'_, AppState>,
    environment: Option<String>,
) -> IpcResult<Vec<Vault>> {
    state
        .run(move |engine| engine.catalog().vaults(environment.as_deref()))
        .await
}

/// Vaults of `environment` whose name or a server address of whose
/// credentials contains `text`.
#[tauri::command]
pub async fn search_vaults(
    state: State<'_, AppState>,
    text: String,
    environment: Option<String>,
) -> IpcResult<Vec<Vault>> {
    state
        .run(move |engine| {
            let mut found = engine.catalog().search_vaults(&text)?;
            if let Some(environment) = environment {
                found.retain(|vault| vault.environment == environment);
            }
            Ok(found)
        })
        .await
}

/// One vault, for its page: a team vault with what the sign-in may do
/// there, asked of its server (`team_vault.rs`).
#[tauri::command]
pub async fn get_vault(state: State<'_, AppState>, id: String) -> IpcResult<VaultView> {
    state
        .run(move |engine| {
            let vault = engine.catalog().vault(&id)?;
            vault_view(engine, vault)
        })
        .await
}

/// With `team_server`, the vault lives on that team server, in `folder`
/// (default: made from its name), found there or made.
#[tauri::command]
pub async fn create_vault(
    state: State<'_, AppState>,
    display_name: String,
    environment: String,
    team_server: Option<String>,
    folder: Option<String>,
) -> IpcResult<Vault> {
    state
        .run(move |engine| match team_server {
            Some(server) => keybearer_team_vaults::create_team_vault(
                engine,
                &display_name,
                &environment,
                &server,
                folder.as_deref().filter(|folder| !folder.trim().is_empty()),
            )
            .map(|(vault, _)| vault),
            None => engine
                .catalog()
                .create_vault(&display_name, &environment, Vec::new()),
        })
        .await
}

#[tauri::command]
pub async fn rename_vault(
    state: State<'_, AppState>,
    id: String,
    display_name: String,
) -> IpcResult<Vault> {
    state
        .run(move |engine| engine.catalog().rename_vault(&id, &display_name))
        .await
}

#[tauri::command]
pub async fn delete_vault(state: State<'_, AppState>, id: String) -> IpcResult<Vault> {
    state
        .run(move |engine| {
            let vault = engine.catalog().delete_vault(&id)?;
            super::apps::follow(engine);
            Ok(vault)
        })
        .await
}
