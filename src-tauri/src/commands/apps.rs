//! App connections: the AI apps Keybearer does not start (docs/architecture.md,
//! "App connections"). Each command is a line or two over the engine's apps
//! part. The entries written into an app's settings start the `keybearer`
//! command-line program installed next to this app's executable (the .deb
//! puts both in /usr/bin; a build puts both in target/<profile>).

use std::path::{Path, PathBuf};

use keybearer_apps::{
    AppChange, AppEnvironment, AppStatus, Apps, CopiesCleanup, EngineApps, ImportOutcome,
    PastedSecret,
};
use keybearer_vault::{Engine, ErrorCode};
use serde::Serialize;
use tauri::State;

use crate::error::{IpcError, IpcResult};
use crate::state::{trace_ipc_answer, AppState};

/// What `sync_apps` did: the apps whose entries were brought in line, and
/// the ones whose settings file could not be read or written.
#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct AppSync {
    pub changes: Vec<AppChange>,
    pub failures: Vec<IpcError>,
}

#[tauri::command]
pub async fn list_apps(state: State<'_, AppState>) -> IpcResult<Vec<AppStatus>> {
    with_apps(&state, Program::Expected, |apps| apps.list()).await
}

/// Connects `app` to `vaults` (ids, first wins) and writes its entries.
#[tauri::command]
pub async fn connect_app(
    state: State<'_, AppState>,
    app: String,
    vaults: Vec<String>,
) -> IpcResult<AppChange> {
    with_apps(&state, Program::Installed, move |apps| {
        apps.connect(&app, &vaults)
    })
    .await
}

#[tauri::command]
pub async fn change_app(
    state: State<'_, AppState>,
    app: String,
    vaults: Vec<String>,
) -> IpcResult<AppChange> {
    with_apps(&state, Program::Installed, move |apps| {
        apps.change(&app, &vaults)
    })
    .await
}

/// Removes Keybearer's entries from the app's settings (writing none, so it
/// works even when the command-line program is gone).
#[tauri::command]
pub async fn disconnect_app(state: State<'_, AppState>, app: String) -> IpcResult<AppChange> {
    with_apps(&state, Program::Expected, move |apps| apps.disconnect(&app)).await
}

#[tauri::command]
pub async fn sync_apps(state: State<'_, AppState>) -> IpcResult<AppSync> {
    with_apps(&state, Program::Installed, |apps| {
        let mut sync = AppSync {
            changes: Vec::new(),
            failures: Vec::new(),
        };
        for result in apps.sync()? {
            match result {
                Ok(change) => sync.changes.push(change),
                Err(error) => sync.failures.push(IpcError::from(error)),
            }
        }
        Ok(sync)
    })
    .await
}

/// Brings one connected app's entries in line with its vaults: the card's
/// "Put it back" for entries something else changed (the same
/// `Apps::sync_app` as `keybearer apps sync APP`).
#[tauri::command]
pub async fn sync_app(state: State<'_, AppState>, app: String) -> IpcResult<AppChange> {
    with_apps(&state, Program::Installed, move |apps| apps.sync_app(&app)).await
}

/// The secrets pasted into the app's settings file: where, never what.
#[tauri::command]
pub async fn pasted_secrets(
    state: State<'_, AppState>,
    app: String,
) -> IpcResult<Vec<PastedSecret>> {
    with_apps(&state, Program::Expected, move |apps| {
        apps.pasted_secrets(&app)
    })
    .await
}

/// Moves the app's pasted tokens into `vault`, all or nothing (the file as
/// it was is kept sealed for undo), and says where copies of them remain;
/// other connected apps then follow the new credentials. Deleting the
/// copies is a separate, confirmed step (`delete_app_token_copies`).
#[tauri::command]
pub async fn import_app(
    state: State<'_, AppState>,
    app: String,
    vault: String,
) -> IpcResult<ImportOutcome> {
    let outcome = with_apps(&state, Program::Installed, move |apps| {
        apps.import(&app, &vault, false)
    })
    .await?;
    // Best effort, like every `follow`: the import itself succeeded.
    let _ = state
        .with_engine(|engine| {
            follow(engine);
            Ok(())
        })
        .await;
    Ok(outcome)
}

/// Deletes the backups beside the app's settings file that hold a token
/// its last import took out of the file (the window asks first).
#[tauri::command]
pub async fn delete_app_token_copies(
    state: State<'_, AppState>,
    app: String,
) -> IpcResult<CopiesCleanup> {
    with_apps(&state, Program::Expected, move |apps| {
        apps.delete_token_copies(&app)
    })
    .await
}

/// Writes the app's settings file back as it was before the last import,
/// tokens included; the imported credentials stay in the vault.
#[tauri::command]
pub async fn undo_app_import(state: State<'_, AppState>, app: String) -> IpcResult<AppChange> {
    with_apps(&state, Program::Expected, move |apps| {
        apps.undo_import(&app)
    })
    .await
}

/// After vaults or credentials changed in the window: connected apps' entries
/// follow (a new server gets an entry, one no vault covers any more loses
/// it). Best effort: the change itself succeeded, so a failure is logged.
pub(crate) fn follow(engine: &mut Engine) {
    let program = match installed_program() {
        Ok(program) => program,
        Err(_) => {
            tracing::debug!("no command-line program next to the app: app entries not synced");
            return;
        }
    };
    let results = AppEnvironment::current(program).and_then(|env| engine.apps(env).sync());
    match results {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(change)
                        if !change.added.is_empty()
                            || !change.removed.is_empty()
                            || !change.restored.is_empty() =>
                    {
                        let restored: Vec<&str> =
                            change.restored.iter().map(|r| r.name.as_str()).collect();
                        tracing::info!(
                            app = %change.name,
                            added = ?change.added,
                            removed = ?change.removed,
                            restored = ?restored,
                            "connected app's entries followed the change"
                        );
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(code = %error.code(), "a connected app's settings were not updated");
                    }
                }
            }
        }
        Err(error) => tracing::warn!(code = %error.code(), "connected apps were not synced"),
    }
}

/// Whether a command needs the command-line program to exist (it writes
/// entries that start it) or only its expected path.
#[derive(Clone, Copy)]
enum Program {
    Installed,
    Expected,
}

/// Runs `job` with the apps part on the engine's blocking thread.
async fn with_apps<T, F>(state: &AppState, program: Program, job: F) -> IpcResult<T>
where
    T: Serialize + Send + 'static,
    F: for<'e> FnOnce(&mut Apps<'e>) -> keybearer_vault::Result<T> + Send + 'static,
{
    let located = match program {
        Program::Installed => installed_program(),
        Program::Expected => expected_program(),
    };
    let program = match located {
        Ok(program) => program,
        Err(error) => {
            let answer = Err(error);
            trace_ipc_answer::<T>(&answer);
            return answer;
        }
    };
    state
        .run(move |engine| {
            let env = AppEnvironment::current(program)?;
            job(&mut engine.apps(env))
        })
        .await
}

/// Where the `keybearer` program belongs: next to this app's executable.
fn expected_program() -> IpcResult<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|_| IpcError::internal("the app's own location is unknown"))?;
    let dir = exe
        .parent()
        .ok_or_else(|| IpcError::internal("the app's own location is unknown"))?;
    Ok(program_in(dir))
}

/// The `keybearer` program next to the app, if it is there.
fn installed_program() -> IpcResult<PathBuf> {
    let program = expected_program()?;
    check_installed(program)
}

fn program_in(dir: &Path) -> PathBuf {
    dir.join(format!("keybearer{}", std::env::consts::EXE_SUFFIX))
}

fn check_installed(program: PathBuf) -> IpcResult<PathBuf> {
    if program.is_file() {
        return Ok(program);
    }
    Err(IpcError {
        code: ErrorCode::NotFound,
        message: format!(
            "Keybearer's command-line program was not found next to the app ({}); reinstall Keybearer.",
            program.display()
        ),
        field: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_looked_for_next_to_the_app() {
        let dir = std::env::temp_dir().join(format!("keybearer-app-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let program = program_in(&dir);
        assert_eq!(
            program.file_name().and_then(|name| name.to_str()),
            Some(if cfg!(windows) {
                "keybearer.exe"
            } else {
                "keybearer"
            })
        );

        let missing = check_installed(program.clone()).expect_err("not there yet");
        assert_eq!(missing.code, ErrorCode::NotFound);
        assert!(missing.message.contains(&program.display().to_string()));
        assert!(missing.message.contains("reinstall Keybearer"));

        std::fs::write(&program, b"").expect("program file");
        assert_eq!(check_installed(program.clone()).expect("found"), program);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
