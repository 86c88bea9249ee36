//! First run, unlocking, recovery.

use serde::Serialize;
use tauri::State;
use vault_core::{RecoveryKey, SetupProtection, Status, UserSecret};

use crate::error::IpcResult;
use crate::state::AppState;

/// The recovery key, returned once so the UI can show it once.
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct RecoveryKeyReveal {
    pub recovery_key: String,
}

impl From<RecoveryKey> for RecoveryKeyReveal {
    fn from(key: RecoveryKey) -> Self {
        Self {
            recovery_key: key.reveal_once().to_string(),
        }
    }
}

fn protection(passphrase: Option<String>) -> SetupProtection {
    match passphrase {
        Some(passphrase) => SetupProtection::Passphrase(UserSecret::new(passphrase)),
        None => SetupProtection::Keychain,
    }
}

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> IpcResult<Status> {
    state.run(|engine| engine.status()).await
}

#[tauri::command]
pub async fn initialize(
    state: State<'_, AppState>,
    passphrase: Option<String>,
) -> IpcResult<RecoveryKeyReveal> {
    state
        .run(move |engine| Ok(engine.keys().initialize(protection(passphrase))?.into()))
        .await
}

#[tauri::command]
pub async fn unlock(state: State<'_, AppState>) -> IpcResult<Status> {
    state
        .run(|engine| {
            engine.keys().unlock()?;
            engine.status()
        })
        .await
}

#[tauri::command]
pub async fn unlock_with_passphrase(
    state: State<'_, AppState>,
    passphrase: String,
) -> IpcResult<Status> {
    state
        .run(move |engine| {
            engine
                .keys()
                .unlock_with_passphrase(&UserSecret::new(passphrase))?;
            engine.status()
        })
        .await
}

#[tauri::command]
pub async fn recover(
    state: State<'_, AppState>,
    recovery_key: String,
    new_passphrase: Option<String>,
) -> IpcResult<Status> {
    state
        .run(move |engine| {
            engine
                .keys()
                .recover(&UserSecret::new(recovery_key), protection(new_passphrase))?;
            engine.status()
        })
        .await
}

#[tauri::command]
pub async fn regenerate_recovery_key(state: State<'_, AppState>) -> IpcResult<RecoveryKeyReveal> {
    state
        .run(|engine| Ok(engine.keys().regenerate_recovery_key()?.into()))
        .await
}
