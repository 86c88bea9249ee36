//! session start | list | stop | agents.

use std::io::IsTerminal;
use std::path::PathBuf;
#[cfg(unix)]
use std::sync::Arc;
use std::time::Duration;

#[cfg(unix)]
use keybearer_session::SessionManager;
use keybearer_session::{
    detect_presets, recorded_sessions, stop_recorded_session, writable_folders, Agent, AgentKind,
    InjectionMode, Launcher, SessionRequest, Terminal,
};
use keybearer_vault::{Engine, Error};
use serde_json::json;

use crate::output::{table, when, Output};

pub struct StartArgs {
    pub vaults: Vec<String>,
    pub agent: String,
    pub dir: Option<PathBuf>,
    pub direct: bool,
    pub sandbox: bool,
    pub writable: Vec<PathBuf>,
    pub command: Vec<String>,
}

/// Runs the agent in this terminal until it ends; returns its exit status.
pub fn start(engine: &mut Engine, out: &Output, args: StartArgs) -> Result<i32, Error> {
    let kind = args.agent.parse::<AgentKind>()?;
    let agent = match kind {
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
    // Windows: no relay for a console yet, and the agent must not share
    // this one (it could type into it).
    #[cfg(windows)]
    if std::io::stdin().is_terminal() {
        return Err(Error::Unsupported(
            "On Windows, start agent sessions from the Keybearer window for now: the command line cannot yet give an agent a terminal of its own in this console. (Run from a script, with input that is not this console, it works.)".into(),
        ));
    }
    super::unlock(engine)?;
    let approver = crate::presence::CliApprover {
        data_dir: engine.data_dir().to_path_buf(),
        inside_session: args.direct && keybearer_session::inside_session(engine)?,
    };
    // Proxy mode: the session's listeners run on this runtime while the agent runs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let launcher = Launcher::new(engine, runtime.handle().clone())?;
    let request = SessionRequest {
        vault_ids: args.vaults,
        agent,
        working_dir: working_dir.clone(),
        injection,
        sandbox: args.sandbox,
        writable: args.writable.clone(),
    };
    // On a terminal the agent gets a terminal of its own, relayed to this
    // one: it must not be able to type into the user's shell (crate::relay).
    #[cfg(unix)]
    let terminal = if std::io::stdin().is_terminal() {
        let (rows, cols) = crate::relay::terminal_size().unwrap_or((24, 80));
        Terminal::Pty { rows, cols }
    } else {
        Terminal::Inherit
    };
    // Windows: a hidden console of its own (a console was refused above).
    #[cfg(windows)]
    let terminal = Terminal::Inherit;
    let running = launcher.launch(engine, request, terminal, &approver)?;
    let id = running.session.id.clone();
    if !out.json {
        let how = match injection {
            InjectionMode::Direct => "direct mode: the agent gets the tokens and can read them",
            InjectionMode::Proxy => {
                "proxy mode: the agent reaches its servers through 127.0.0.1 and never sees a token"
            }
        };
        let sandbox = if args.sandbox {
            let may_change: Vec<String> = writable_folders(kind, &working_dir, &args.writable)
                .iter()
                .map(|folder| folder.display().to_string())
                .collect();
            // macOS has no private /tmp: the agent's TMPDIR is its own folder.
            let temp = if cfg!(target_os = "macos") {
                "a private temporary folder"
            } else {
                "a private /tmp"
            };
            &format!(
                "; sandboxed: it may change only {} and {temp}",
                may_change.join(", ")
            )
        } else if SessionRequest::SANDBOX_BY_DEFAULT {
            "; NOT sandboxed: the agent can use your keychain and Keybearer itself"
        } else {
            "; NOT sandboxed (this system has no sandbox yet): the agent can use your keychain and Keybearer itself"
        };
        eprintln!(
            "keybearer: session {id}: {} MCP server(s), {how}{sandbox}.",
            running.servers
        );
    }
    let manager = launcher.manager();
    #[cfg(unix)]
    let forwarder = forward_signals(Arc::clone(manager), id.clone())?;
    #[cfg(unix)]
    let relay = running
        .pty
        .as_ref()
        .map(crate::relay::Relay::start)
        .transpose()?;
    // Returns once the agent ended, its proxy stopped and its folder was
    // removed. (Windows: if this process is ended instead, the session's
    // job ends the agent with it; the next start removes the folder.)
    let ended = manager.wait(&id);
    #[cfg(unix)]
    {
        if let Some(relay) = relay {
            relay.finish();
        }
        forwarder.close();
    }
    manager.shutdown();
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
/// does not outlive it. Ctrl-C typed on the terminal goes to the agent (the
/// relay passes it on as a key).
#[cfg(unix)]
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
    let sessions = recorded_sessions(engine, limit)?;
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
    let session = stop_recorded_session(engine, id, Duration::from_secs(grace))?;
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
