//! First run, unlocking, recovery.

use keybearer_vault::{PendingKey, SetupProtection, Status, UserSecret};
use serde::Serialize;
use tauri::State;

use crate::error::IpcResult;
use crate::state::AppState;

/// The recovery key, returned once so the UI can show it once. Nothing is
/// stored until the user confirms they saved it (`confirm_recovery_key`).
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct RecoveryKeyReveal {
    pub recovery_key: String,
}

impl From<&PendingKey> for RecoveryKeyReveal {
    fn from(pending: &PendingKey) -> Self {
        Self {
            recovery_key: pending.recovery_key().reveal_once().to_string(),
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
    state.window_asked();
    state.run(|engine| engine.status()).await
}

/// First setup, step one: a new key and its recovery key, shown but not
/// stored until `confirm_recovery_key`. Not traced: the answer is a secret.
#[tauri::command]
pub async fn initialize(
    state: State<'_, AppState>,
    passphrase: Option<String>,
) -> IpcResult<RecoveryKeyReveal> {
    plan_and_show(&state, move |engine| {
        engine.keys().plan_setup(protection(passphrase))
    })
    .await
}

/// Stores the key shown by `initialize` or `regenerate_recovery_key`, once
/// the user ticked "I have saved it".
#[tauri::command]
pub async fn confirm_recovery_key(state: State<'_, AppState>) -> IpcResult<Status> {
    let pending = state.pending_key();
    state
        .run(move |engine| {
            let planned = pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .ok_or_else(|| {
                    keybearer_vault::Error::invalid(
                        "recovery_key",
                        "There is no new recovery key waiting to be saved. Start again.",
                    )
                })?;
            engine.keys().commit(planned)?;
            engine.status()
        })
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

/// A new recovery key, shown but not stored (the old one keeps working)
/// until `confirm_recovery_key`. Not traced: the answer is a secret.
#[tauri::command]
pub async fn regenerate_recovery_key(state: State<'_, AppState>) -> IpcResult<RecoveryKeyReveal> {
    plan_and_show(&state, |engine| engine.keys().plan_new_recovery_key()).await
}

/// Plans a key, keeps it as the one waiting for `confirm_recovery_key` and
/// answers its recovery key, once.
async fn plan_and_show<F>(state: &AppState, plan: F) -> IpcResult<RecoveryKeyReveal>
where
    F: FnOnce(&mut keybearer_vault::Engine) -> keybearer_vault::Result<PendingKey> + Send + 'static,
{
    let pending = state.pending_key();
    state
        .with_engine(move |engine| {
            let planned = plan(engine)?;
            let reveal = RecoveryKeyReveal::from(&planned);
            *pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(planned);
            Ok(reveal)
        })
        .await
}
