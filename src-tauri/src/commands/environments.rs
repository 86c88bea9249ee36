//! Environments and the active one.

use keybearer_vault::{Environment, Status};
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_environments(state: State<'_, AppState>) -> IpcResult<Vec<Environment>> {
    state.run(|engine| engine.catalog().environments()).await
}

#[tauri::command]
pub async fn create_environment(
    state: State<'_, AppState>,
    name: String,
    colour: String,
) -> IpcResult<Environment> {
    state
        .run(move |engine| engine.catalog().create_environment(&name, &colour))
        .await
}

#[tauri::command]
pub async fn set_active_environment(state: State<'_, AppState>, name: String) -> IpcResult<Status> {
    state
        .run(move |engine| {
            engine.catalog().set_active_environment(&name)?;
            engine.status()
        })
        .await
}
