//! Backups in the window (docs/architecture.md, "Backups"): Settings → Back
//! up, and the first-run screen's "Restore from a backup". A line or two
//! over the engine's backups part each.
//!
//! The recovery key or passphrase typed comes in once as a `SecretText`
//! (wiped when dropped, never printed) and no answer carries it. A restore
//! is three steps, the way a first setup is: `open_backup` opens the file
//! and keeps it here (answering names and counts only), `plan_restore`
//! makes this computer's key and answers its recovery key to show, and
//! `confirm_restore` (after "I have saved it") stores the key and the data
//! in one transaction. `cancel_restore` drops what is kept (its secrets are
//! wiped).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use keybearer_vault::{
    BackupContents, BackupMade, BackupSeal, Backups, Locations, OpenedBackup, Os, PendingKey,
    RestoreOptions, RestoreReport, SealKind, SealedBackup, SetupProtection, Status, UserSecret,
};
use serde::Serialize;
use tauri::State;

use crate::commands::secret_input::SecretText;
use crate::commands::setup::RecoveryKeyReveal;
use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

/// A restore under way: the opened backup, then this computer's planned key.
#[derive(Default)]
pub struct Restores {
    pending: Arc<Mutex<Option<PendingRestore>>>,
}

struct PendingRestore {
    opened: OpenedBackup,
    key: Option<PendingKey>,
}

impl Restores {
    fn slot(&self) -> Arc<Mutex<Option<PendingRestore>>> {
        Arc::clone(&self.pending)
    }
}

fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a restore did, and the status to route on.
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct RestoreDone {
    pub status: Status,
    pub report: RestoreReport,
}

/// Where Settings → Back up offers to write the file.
#[tauri::command]
pub async fn suggested_backup_file() -> IpcResult<Option<String>> {
    Ok(Backups::suggested_file().map(|path| path.to_string_lossy().into_owned()))
}

/// Whether something already has that name (the window asks before it
/// sends a secret, and offers to replace it).
#[tauri::command]
pub async fn backup_file_exists(path: String) -> IpcResult<bool> {
    Ok(Backups::check_target(&PathBuf::from(path.trim()), false).is_err())
}

/// Writes a backup to `path`, sealed with the recovery key typed (checked
/// to be the current one) or a new passphrase. `replace`: the user
/// confirmed replacing an existing file.
#[tauri::command]
pub async fn create_backup(
    state: State<'_, AppState>,
    path: String,
    recovery_key: Option<SecretText>,
    passphrase: Option<SecretText>,
    replace: bool,
) -> IpcResult<BackupMade> {
    let seal = match (recovery_key, passphrase) {
        (Some(key), None) => BackupSeal::RecoveryKey(UserSecret::new(key.copy())),
        (None, Some(passphrase)) => BackupSeal::Passphrase(UserSecret::new(passphrase.copy())),
        _ => {
            return Err(keybearer_vault::Error::invalid(
                "recovery_key",
                "Type your recovery key, or choose a passphrase for this backup.",
            )
            .into())
        }
    };
    let path = PathBuf::from(path.trim());
    state
        .run(move |engine| engine.backups().create(&path, seal, replace))
        .await
}

/// Reads a backup file and says what opens it (nothing is asked yet).
#[tauri::command]
pub async fn read_backup(path: String) -> IpcResult<SealKind> {
    let answer = tauri::async_runtime::spawn_blocking(move || {
        SealedBackup::read(&PathBuf::from(path.trim()))
            .map(|sealed| sealed.sealed_with())
            .map_err(IpcError::from)
    })
    .await
    .map_err(|_| IpcError::internal("background task failed"))
    .and_then(|answer| answer);
    trace_ipc_answer(&answer);
    answer
}

/// Opens a backup with what the user typed and keeps it for the restore;
/// answers what it holds (names and counts).
#[tauri::command]
pub async fn open_backup(
    restores: State<'_, Restores>,
    path: String,
    secret: SecretText,
) -> IpcResult<BackupContents> {
    let slot = restores.slot();
    let answer = tauri::async_runtime::spawn_blocking(move || {
        let sealed = SealedBackup::read(&PathBuf::from(path.trim()))?;
        let opened = sealed.open(&UserSecret::new(secret.copy()))?;
        let contents = opened.contents();
        *lock(&slot) = Some(PendingRestore { opened, key: None });
        Ok::<_, keybearer_vault::Error>(contents)
    })
    .await
    .map_err(|_| IpcError::internal("background task failed"))
    .and_then(|answer| answer.map_err(IpcError::from));
    trace_ipc_answer(&answer);
    answer
}

/// Makes this computer's key for the opened backup and answers its
/// recovery key, once; nothing is stored until `confirm_restore`.
#[tauri::command]
pub async fn plan_restore(
    state: State<'_, AppState>,
    restores: State<'_, Restores>,
) -> IpcResult<RecoveryKeyReveal> {
    let slot = restores.slot();
    state
        .with_engine(move |engine| {
            let mut pending = lock(&slot);
            let restore = pending.as_mut().ok_or_else(nothing_opened)?;
            let key = engine.keys().plan_setup(SetupProtection::Keychain)?;
            let reveal = RecoveryKeyReveal::from(&key);
            restore.key = Some(key);
            Ok(reveal)
        })
        .await
}

/// Stores this computer's key and the backup's data, in one transaction.
#[tauri::command]
pub async fn confirm_restore(
    state: State<'_, AppState>,
    restores: State<'_, Restores>,
) -> IpcResult<RestoreDone> {
    let slot = restores.slot();
    state
        .run(move |engine| {
            let mut pending = lock(&slot);
            let restore = pending.as_mut().ok_or_else(nothing_opened)?;
            let key = restore.key.take().ok_or_else(nothing_opened)?;
            let options = RestoreOptions {
                merge: false,
                apps_here: Locations::from_env().map(|locations| (Os::current(), locations)),
            };
            let report = engine
                .backups()
                .restore(&restore.opened, Some(key), &options)?;
            // Done: the backup's secrets are wiped.
            *pending = None;
            Ok(RestoreDone {
                status: engine.status()?,
                report,
            })
        })
        .await
}

/// Forgets an opened backup (its secrets are wiped).
#[tauri::command]
pub async fn cancel_restore(restores: State<'_, Restores>) -> IpcResult<()> {
    *lock(&restores.slot()) = None;
    Ok(())
}

fn nothing_opened() -> keybearer_vault::Error {
    keybearer_vault::Error::invalid(
        "path",
        "There is no opened backup waiting to be restored. Start again.",
    )
}
