//! Sessions: run an agent with its vaults' credentials, through the core's
//! one launcher (docs/architecture.md, "Sessions"). Proxy mode by default:
//! the proxy listens on Tauri's async runtime and closes when the agent ends.

use std::path::PathBuf;
use std::sync::Arc;

use keybearer_session::{
    detect_presets, Agent, AgentKind, ApprovedInWindow, InjectionMode, PresetAvailability,
    ServerActivity, Session, SessionRequest, Terminal,
};
use keybearer_vault::Resolution;
use serde::Deserialize;
use tauri::{AppHandle, State};

use crate::error::{IpcError, IpcResult};
use crate::sessions::Sessions;
use crate::state::{trace_ipc_answer, AppState};

/// What the New session form sends.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, rename_all = "camelCase")]
pub struct StartSession {
    pub vault_ids: Vec<String>,
    pub agent: AgentKind,
    /// The custom command's program (custom agent only).
    pub program: Option<String>,
    pub args: Vec<String>,
    pub working_dir: String,
    /// Direct mode: the agent gets the tokens. Proxy mode otherwise.
    pub direct: bool,
    /// Run the agent in the sandbox (Linux, and macOS untried; on by default).
    pub sandbox: bool,
    /// Folders the sandboxed agent may also change.
    #[serde(default)]
    pub writable: Vec<String>,
    pub rows: u16,
    pub cols: u16,
}

/// Sessions run on this platform (Linux, macOS and Windows).
#[tauri::command]
pub fn sessions_available() -> bool {
    true
}

/// Whether this platform has the agent sandbox (Linux; macOS, never run on a
/// Mac), for the form's default.
#[tauri::command]
pub fn sandbox_available() -> bool {
    SessionRequest::SANDBOX_BY_DEFAULT
}

#[tauri::command]
pub async fn detect_agents() -> IpcResult<Vec<PresetAvailability>> {
    let presets = tauri::async_runtime::spawn_blocking(detect_presets)
        .await
        .map_err(|_| IpcError::internal("background task failed"))?;
    Ok(presets)
}

/// The folder the New session form starts in.
#[tauri::command]
pub fn home_folder() -> Option<String> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).display().to_string())
}

#[tauri::command]
pub async fn start_session(
    app: AppHandle,
    state: State<'_, AppState>,
    sessions: State<'_, Arc<Sessions>>,
    request: StartSession,
) -> IpcResult<Session> {
    let result = start(app, &state, &sessions, request).await;
    trace_ipc_answer(&result);
    result
}

async fn start(
    app: AppHandle,
    state: &AppState,
    sessions: &Arc<Sessions>,
    request: StartSession,
) -> IpcResult<Session> {
    let (rows, cols) = (request.rows.max(2), request.cols.max(10));
    let injection = if request.direct {
        InjectionMode::Direct
    } else {
        InjectionMode::Proxy
    };
    let session_request = SessionRequest {
        agent: agent(request.agent, request.program, request.args),
        vault_ids: request.vault_ids,
        working_dir: PathBuf::from(request.working_dir.trim()),
        injection,
        sandbox: request.sandbox,
        writable: request
            .writable
            .iter()
            .map(|folder| folder.trim())
            .filter(|folder| !folder.is_empty())
            .map(PathBuf::from)
            .collect(),
    };
    let launch = Arc::clone(sessions);
    let (manager, running) = state
        .with_engine(move |engine| {
            let launcher = launch.launcher(engine)?;
            let running = launcher.launch(
                engine,
                session_request,
                Terminal::Pty { rows, cols },
                // Direct mode was chosen and confirmed in the window's form.
                &ApprovedInWindow,
            )?;
            Ok((Arc::clone(launcher.manager()), running))
        })
        .await?;
    let id = running.session.id.clone();
    if let Some(activity) = running.activity {
        sessions.keep_activity(&id, activity);
    }
    if let Some(pty) = &running.pty {
        if let Err(error) = sessions.attach(app, Arc::clone(&manager), id.clone(), pty) {
            // Without its terminal nobody could see or stop it here: end it.
            let manager = Arc::clone(&manager);
            let _ = tauri::async_runtime::spawn_blocking(move || manager.stop(&id)).await;
            return Err(IpcError::from(error));
        }
    }
    Ok(running.session)
}

fn agent(kind: AgentKind, program: Option<String>, args: Vec<String>) -> Agent {
    match kind {
        AgentKind::Claude => Agent::Claude { args },
        AgentKind::Codex => Agent::Codex { args },
        AgentKind::Custom => Agent::Custom {
            program: program.unwrap_or_default(),
            args,
        },
    }
}

/// The sessions started since the app opened, newest first.
#[tauri::command]
pub fn list_sessions(sessions: State<'_, Arc<Sessions>>) -> Vec<Session> {
    sessions
        .existing()
        .map(|manager| manager.list())
        .unwrap_or_default()
}

/// For the New session form: which credential each server would use with
/// these vaults in this order (the first vault wins).
#[tauri::command]
pub async fn session_coverage(
    state: State<'_, AppState>,
    vault_ids: Vec<String>,
) -> IpcResult<Vec<Resolution>> {
    state
        .run(move |engine| keybearer_team_vaults::coverage(engine, &vault_ids))
        .await
}

/// Each of the session's servers with the requests the agent sent through
/// the proxy and the last status it got (empty in direct mode).
#[tauri::command]
pub fn session_servers(sessions: State<'_, Arc<Sessions>>, id: String) -> Vec<ServerActivity> {
    let answer = sessions.activity(&id);
    trace_ipc_answer::<Vec<ServerActivity>>(&Ok(answer.clone()));
    answer
}

#[tauri::command]
pub async fn stop_session(sessions: State<'_, Arc<Sessions>>, id: String) -> IpcResult<Session> {
    let manager = sessions
        .existing()
        .ok_or_else(|| IpcError::from(keybearer_vault::Error::not_found("session", &id)))?;
    tauri::async_runtime::spawn_blocking(move || manager.stop(&id))
        .await
        .map_err(|_| IpcError::internal("background task failed"))?
        .map_err(IpcError::from)
}

/// Keyboard input for the agent's terminal.
#[tauri::command]
pub async fn session_input(
    sessions: State<'_, Arc<Sessions>>,
    id: String,
    data: String,
) -> IpcResult<()> {
    let sessions = Arc::clone(&sessions);
    tauri::async_runtime::spawn_blocking(move || sessions.write(&id, data.as_bytes()))
        .await
        .map_err(|_| IpcError::internal("background task failed"))?
        .map_err(IpcError::from)
}

#[tauri::command]
pub fn resize_session(
    sessions: State<'_, Arc<Sessions>>,
    id: String,
    rows: u16,
    cols: u16,
) -> IpcResult<()> {
    let pty = sessions
        .existing()
        .and_then(|manager| manager.pty(&id))
        .ok_or_else(|| IpcError::from(keybearer_vault::Error::not_found("session", &id)))?;
    pty.resize(rows.max(2), cols.max(10))
        .map_err(IpcError::from)
}
