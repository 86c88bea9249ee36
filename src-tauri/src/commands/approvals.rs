//! Approvals the command line asked for (direct mode): what waits, and the
//! person's answer. The listening and the waiting are in `approvals.rs`.

#[cfg(any(unix, windows))]
use std::sync::Arc;

#[cfg(any(unix, windows))]
use tauri::{AppHandle, State};

#[cfg(any(unix, windows))]
use crate::approvals::{Approvals, PendingApproval};
use crate::error::IpcResult;

/// The approvals waiting for an answer, oldest first (a window that opens
/// or reloads after the question was asked still shows it).
#[cfg(any(unix, windows))]
#[tauri::command]
pub fn pending_approvals(approvals: State<'_, Arc<Approvals>>) -> Vec<PendingApproval> {
    approvals.pending()
}

#[cfg(not(any(unix, windows)))]
#[tauri::command]
pub fn pending_approvals() -> Vec<()> {
    Vec::new()
}

/// Approves or declines; an approval that is no longer waiting (its asker
/// gave up) is reported as not found.
#[cfg(any(unix, windows))]
#[tauri::command]
pub fn answer_approval(
    app: AppHandle,
    approvals: State<'_, Arc<Approvals>>,
    id: String,
    approve: bool,
) -> IpcResult<()> {
    if approvals.answer(&app, &id, approve) {
        Ok(())
    } else {
        Err(keybearer_vault::Error::not_found("approval request", id).into())
    }
}

#[cfg(not(any(unix, windows)))]
#[tauri::command]
pub fn answer_approval(id: String, approve: bool) -> IpcResult<()> {
    let _ = approve;
    Err(keybearer_vault::Error::not_found("approval request", id).into())
}
