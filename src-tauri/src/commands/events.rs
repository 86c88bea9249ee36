//! The audit trail.

use keybearer_vault::Event;
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

#[tauri::command]
pub async fn list_events(
    state: State<'_, AppState>,
    vault_id: Option<String>,
    limit: u32,
) -> IpcResult<Vec<Event>> {
    state
        .run(move |engine| engine.audit().events(vault_id.as_deref(), limit.min(1000)))
        .await
}
