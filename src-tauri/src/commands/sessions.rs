//! Sessions: run an agent with its vaults' credentials (DESIGN.md §3).
//! Proxy mode by default: the proxy listens on Tauri's async runtime and is
//! handed to the session, so it closes when the agent ends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tauri::{AppHandle, State};
use vault_core::proxy::SessionProxy;
use vault_core::session::{
    detect_presets, direct_endpoints, proxy_endpoints, Agent, AgentKind, InjectionMode,
    PresetAvailability, Session, SessionRequest, Terminal,
};

use vault_core::proxy::ServerActivity;
use vault_core::Resolution;

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
    pub rows: u16,
    pub cols: u16,
}

/// Sessions run on this platform (Linux and macOS).
#[tauri::command]
pub fn sessions_available() -> bool {
    true
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
    };
    let setup = Arc::clone(sessions);
    let (manager, prepared, direct, proxy_engine) = state
        .with_engine(move |engine| {
            let prepared = engine.prepare_session(session_request)?;
            let manager = setup.manager(engine)?;
            Ok(match injection {
                InjectionMode::Direct => {
                    let endpoints = direct_endpoints(engine, prepared.id(), prepared.vault_ids())?;
                    (manager, prepared, Some(endpoints), None)
                }
                InjectionMode::Proxy => (manager, prepared, None, Some(engine.reopen()?)),
            })
        })
        .await?;
    let id = prepared.id().to_string();
    let (endpoints, resources): (_, Box<dyn Send>) = match (direct, proxy_engine) {
        (Some(endpoints), _) => (endpoints, Box::new(())),
        (None, Some(engine)) => {
            let engine = Arc::new(Mutex::new(engine));
            let (proxy, endpoints) = proxy_endpoints(engine, &id, prepared.vault_ids()).await?;
            sessions.keep_activity(&id, proxy.activity());
            (endpoints, Box::new(ProxyGuard(Some(proxy))))
        }
        (None, None) => return Err(IpcError::internal("no endpoints")),
    };
    let attach = Arc::clone(sessions);
    tauri::async_runtime::spawn_blocking(move || {
        let started =
            manager.start_with(prepared, endpoints, Terminal::Pty { rows, cols }, resources)?;
        if let Some(pty) = &started.pty {
            if let Err(error) = attach.attach(app, Arc::clone(&manager), id.clone(), pty) {
                // Without its terminal nobody could see or stop it here: end it.
                let _ = manager.stop(&id);
                return Err(error);
            }
        }
        Ok::<_, vault_core::Error>(started.session)
    })
    .await
    .map_err(|_| IpcError::internal("background task failed"))?
    .map_err(IpcError::from)
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

/// Stops the session's proxy on the async runtime when the agent has ended
/// (the manager drops its resources on its own thread).
struct ProxyGuard(Option<SessionProxy>);

impl Drop for ProxyGuard {
    fn drop(&mut self) {
        if let Some(proxy) = self.0.take() {
            tauri::async_runtime::spawn(proxy.stop());
        }
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
        .run(move |engine| vault_core::session::session_coverage(engine, &vault_ids))
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
        .ok_or_else(|| IpcError::from(vault_core::Error::not_found("session", &id)))?;
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
        .ok_or_else(|| IpcError::from(vault_core::Error::not_found("session", &id)))?;
    pty.resize(rows.max(2), cols.max(10))
        .map_err(IpcError::from)
}
