//! session start | list | stop | agents.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use vault_core::session::{
    detect_presets, direct_endpoints, proxy_endpoints, Agent, AgentKind, InjectionMode,
    SessionManager, SessionRequest, Terminal,
};
use vault_core::{Engine, Error};

use crate::output::{table, when, Output};

pub struct StartArgs {
    pub vaults: Vec<String>,
    pub agent: String,
    pub dir: Option<PathBuf>,
    pub direct: bool,
    pub command: Vec<String>,
}

/// Runs the agent in this terminal until it ends; returns its exit status.
pub fn start(engine: &mut Engine, out: &Output, args: StartArgs) -> Result<i32, Error> {
    let agent = match args.agent.parse::<AgentKind>()? {
        AgentKind::Claude => Agent::Claude { args: args.command },
        AgentKind::Codex => Agent::Codex { args: args.command },
        AgentKind::Custom => {
            let mut command = args.command.into_iter();
            let program = command.next().ok_or_else(|| {
                Error::invalid(
                    "command",
                    "Give the custom agent's command after --, for example: \
                     keybearer session start --vault V --agent custom --direct -- my-agent --config {mcp_config}",
                )
            })?;
            Agent::Custom {
                program,
                args: command.collect(),
            }
        }
    };
    let injection = if args.direct {
        InjectionMode::Direct
    } else {
        InjectionMode::Proxy
    };
    let working_dir = match args.dir {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    let prepared = engine.prepare_session(SessionRequest {
        vault_ids: args.vaults,
        agent,
        working_dir,
        injection,
    })?;
    super::unlock(engine)?;
    let id = prepared.id().to_string();
    // Proxy mode: the listeners run on this runtime while the agent runs.
    let mut proxy = None;
    let endpoints = match injection {
        InjectionMode::Direct => direct_endpoints(engine, prepared.id(), prepared.vault_ids())?,
        InjectionMode::Proxy => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let proxy_engine = Arc::new(Mutex::new(engine.reopen()?));
            let (session_proxy, endpoints) =
                runtime.block_on(proxy_endpoints(proxy_engine, &id, prepared.vault_ids()))?;
            proxy = Some((runtime, session_proxy));
            endpoints
        }
    };
    if !out.json {
        let how = match injection {
            InjectionMode::Direct => "direct mode: the agent gets the tokens and can read them",
            InjectionMode::Proxy => {
                "proxy mode: the agent reaches its servers through 127.0.0.1 and never sees a token"
            }
        };
        eprintln!(
            "keybearer: session {id}: {} MCP server(s), {how}.",
            endpoints.len()
        );
    }
    let manager = Arc::new(SessionManager::new(engine)?);
    let forwarder = forward_signals(Arc::clone(&manager), id.clone())?;
    let started = manager.start(prepared, endpoints, Terminal::Inherit);
    let ended = started.and_then(|_| manager.wait(&id));
    forwarder.close();
    manager.shutdown();
    // The listeners close and the session secret dies with the session.
    if let Some((runtime, session_proxy)) = proxy {
        runtime.block_on(session_proxy.stop());
    }
    let ended = ended?;
    if out.json {
        out.json(&ended)?;
    } else {
        eprintln!("keybearer: session {id} {}.", ended.state);
    }
    Ok(ended.shell_exit_code())
}

/// Termination signals sent to keybearer itself (a closed terminal, a
/// `kill`) stop the session, so its private folder is removed and the agent
/// does not outlive it. Ctrl-C goes to the agent, which owns the terminal.
fn forward_signals(
    manager: Arc<SessionManager>,
    id: String,
) -> Result<signal_hook::iterator::Handle, Error> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP, SIGQUIT])?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            tracing::info!(session_id = %id, "signal received: stopping the session");
            let _ = manager.stop(&id);
        }
    });
    Ok(handle)
}

pub fn list(engine: &mut Engine, out: &Output, limit: u32) -> Result<(), Error> {
    let sessions = engine.sessions(limit)?;
    out.either(&sessions, || {
        if sessions.is_empty() {
            outln!("No sessions yet. Start one with: keybearer session start --vault NAME --agent claude (the agent reaches its servers through Keybearer and never sees a token)");
            return;
        }
        let rows: Vec<Vec<String>> = sessions
            .iter()
            .map(|session| {
                vec![
                    session.id.clone(),
                    session.state.to_string(),
                    session.agent.to_string(),
                    session.injection.as_str().to_string(),
                    session.environment.clone(),
                    session.vault_ids.join(","),
                    session.pid.map(|pid| pid.to_string()).unwrap_or_default(),
                    session.started_at.to_rfc3339(),
                    when(session.ended_at).replace("never", "-"),
                    session.working_dir.display().to_string(),
                ]
            })
            .collect();
        table(
            &[
                "ID",
                "STATUS",
                "AGENT",
                "MODE",
                "ENVIRONMENT",
                "VAULTS",
                "PID",
                "STARTED",
                "ENDED",
                "FOLDER",
            ],
            &rows,
        );
    })
}

pub fn stop(engine: &mut Engine, out: &Output, id: &str, grace: u64) -> Result<(), Error> {
    let session = engine.stop_session(id, Duration::from_secs(grace))?;
    out.either(&session, || {
        outln!("Session {} {}.", session.id, session.state);
    })
}

pub fn agents(out: &Output) -> Result<(), Error> {
    let presets = detect_presets();
    out.either(&json!(presets), || {
        let rows: Vec<Vec<String>> = presets
            .iter()
            .map(|preset| {
                vec![
                    preset.agent.to_string(),
                    preset.display_name.to_string(),
                    preset.path.as_ref().map_or_else(
                        || format!("not installed ({})", preset.install_hint),
                        |path| path.display().to_string(),
                    ),
                ]
            })
            .collect();
        table(&["AGENT", "NAME", "INSTALLED"], &rows);
    })
}
