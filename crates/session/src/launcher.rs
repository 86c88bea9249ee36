//! The one way a front end starts a session (docs/architecture.md,
//! "Sessions"): request in, running session out. Both the CLI and the
//! desktop shell call [`Launcher::launch`]; the stdio bridge will too.
//!
//! The flow: check the request (vaults of one environment, an existing
//! folder, an installed agent) → build the endpoints: in proxy mode start the
//! session's proxy on the launcher's Tokio runtime (listeners on 127.0.0.1,
//! tokens looked up through the tokens part, and a team vault's through its
//! team server: `keybearer_team_vaults::for_session`), in direct mode open
//! the tokens for the agent's config → start the agent through the [`SessionManager`],
//! which writes its private 0600 config, records the session and its
//! `session.*` events, and keeps the proxy alive exactly as long as the
//! agent. When the agent ends, the proxy stops (its audit records written)
//! and the private folder is removed; dropping the launcher stops every
//! session it started.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::endpoint::direct_endpoints;
use super::manager::SessionManager;
use super::model::{Agent, InjectionMode, Session};
use super::presence::{ApprovalRequest, Approver};
use super::process::Terminal;
use super::proxied::proxy_endpoints;
use super::pty::SessionPty;
use super::records::{prepare, PreparedSession, SessionRequest};
use keybearer_base::error::Result;
use keybearer_proxy::{ProxyActivity, SessionProxy};
use keybearer_vault::Engine;

/// Starts sessions; owns the [`SessionManager`] that runs them.
pub struct Launcher {
    manager: Arc<SessionManager>,
    runtime: Handle,
}

/// A session that was just started.
#[derive(Debug)]
pub struct RunningSession {
    pub session: Session,
    /// The agent's terminal, for [`Terminal::Pty`] sessions.
    pub pty: Option<SessionPty>,
    /// How many MCP servers the agent was configured with.
    pub servers: usize,
    /// Live per-server request counters (proxy mode; `None` in direct mode).
    pub activity: Option<ProxyActivity>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl Launcher {
    /// A launcher recording into `engine`'s data folder, running session
    /// proxies on `runtime` (which must outlive the sessions).
    pub fn new(engine: &Engine, runtime: Handle) -> Result<Self> {
        Ok(Self::with_manager(SessionManager::new(engine)?, runtime))
    }

    /// Like [`Launcher::new`] with a manager set up by the caller (e.g. a
    /// shorter stop grace).
    pub fn with_manager(manager: SessionManager, runtime: Handle) -> Self {
        Self {
            manager: Arc::new(manager),
            runtime,
        }
    }

    /// The running sessions: list, wait, stop, their terminals.
    pub fn manager(&self) -> &Arc<SessionManager> {
        &self.manager
    }

    /// Checks `request`, builds the agent's MCP endpoints (proxy or direct)
    /// and starts the agent in `terminal`. Returns once the agent runs.
    /// Direct mode first needs `approver`'s yes (a person's approval: the
    /// agent will be able to read the tokens); proxy mode never asks.
    /// Blocks: call it from a plain or blocking thread, never from inside an
    /// async task. The engine must be unlockable: a passphrase-protected
    /// vault must have been unlocked first.
    pub fn launch(
        &self,
        engine: &mut Engine,
        request: SessionRequest,
        terminal: Terminal,
        approver: &dyn Approver,
    ) -> Result<RunningSession> {
        let prepared = prepare(engine, request)?;
        let id = prepared.id().to_string();
        let (endpoints, resources, activity): (_, Box<dyn Send>, _) = match prepared.injection() {
            InjectionMode::Direct => {
                approver.approve(&approval_request(engine, &prepared)?)?;
                (
                    direct_endpoints(engine, &id, prepared.vault_ids())?,
                    Box::new(()),
                    None,
                )
            }
            InjectionMode::Proxy => {
                // Local vaults' tokens, and team vaults' through their
                // servers (docs/architecture.md, "Team vaults").
                let sources = keybearer_team_vaults::for_session(engine, prepared.vault_ids())?;
                let recorder = engine.usage_recorder()?;
                let (proxy, endpoints) = self.runtime.block_on(proxy_endpoints(
                    sources.source,
                    recorder,
                    &id,
                    prepared.vault_ids(),
                    sources.servers,
                ))?;
                let activity = proxy.activity();
                let lifetime = ProxyLifetime {
                    proxy: Some(proxy),
                    runtime: self.runtime.clone(),
                };
                (endpoints, Box::new(lifetime), Some(activity))
            }
        };
        let servers = endpoints.len();
        let started = self
            .manager
            .start_with(prepared, endpoints, terminal, resources)?;
        Ok(RunningSession {
            session: started.session,
            pty: started.pty,
            servers,
            activity,
        })
    }
}

/// What the person approving direct mode is shown.
fn approval_request(engine: &Engine, prepared: &PreparedSession) -> Result<ApprovalRequest> {
    let resolver = engine.resolver();
    let vaults = prepared
        .vault_ids()
        .iter()
        .map(|id| resolver.vault(id).map(|vault| vault.display_name))
        .collect::<Result<Vec<_>>>()?;
    let program = match prepared.agent() {
        Agent::Custom { .. } => prepared.program().display().to_string(),
        preset => preset.program().to_string(),
    };
    Ok(ApprovalRequest {
        program,
        vaults,
        environment: prepared.environment().to_string(),
    })
}

/// Keeps a session's proxy running until the manager drops it (the agent
/// ended), then stops it on its runtime: listeners closed, audit written.
struct ProxyLifetime {
    proxy: Option<SessionProxy>,
    runtime: Handle,
}

impl Drop for ProxyLifetime {
    fn drop(&mut self) {
        let Some(proxy) = self.proxy.take() else {
            return;
        };
        if Handle::try_current().is_ok() {
            // Inside the runtime (cannot block here): finish in the background.
            self.runtime.spawn(proxy.stop());
        } else {
            // The manager's watching thread: wait, so the session has fully
            // ended (audit included) before anyone is told it did.
            self.runtime.block_on(proxy.stop());
        }
    }
}
