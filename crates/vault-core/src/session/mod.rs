//! Sessions (DESIGN.md §3): an agent process plus the credentials of its
//! linked vaults, alive together.
//!
//! The flow: [`Engine::prepare_session`](crate::Engine::prepare_session)
//! checks a [`SessionRequest`] (one environment, an existing folder, an
//! installed agent) and gives the session its id; the caller then builds the
//! [`McpEndpoint`]s to configure — the proxy's loopback listeners in proxy
//! mode, or [`direct_endpoints`] in direct mode — and
//! [`SessionManager::start`] writes the agent's private config, starts it
//! in its own process group and watches it until it ends.
//!
//! Modules, one job each: `model` (what a session is), `endpoint` (servers
//! to configure, server names, direct-mode tokens), `private_dir` (the 0700
//! temp folder), `launch` (each agent's command line, env and config file),
//! `program` (PATH lookup, preset detection), `process` (process groups,
//! terminal hand-over, stopping), `pty` (the desktop's terminal), `journal`
//! and `records` (the `sessions` table and audit events), `manager`.

mod endpoint;
mod journal;
mod launch;
mod manager;
mod model;
mod private_dir;
mod process;
mod program;
mod proxied;
mod pty;
mod records;

pub use endpoint::{direct_endpoints, server_names, session_coverage, HeaderSecret, McpEndpoint};
pub use launch::{MCP_CONFIG_ENV, MCP_CONFIG_PLACEHOLDER, SESSION_ID_ENV};
pub use manager::{SessionManager, StartedSession, DEFAULT_STOP_GRACE};
pub use model::{Agent, AgentKind, InjectionMode, Session, SessionState};
pub use process::{process_group_alive, Terminal};
pub use program::{detect_presets, PresetAvailability};
pub use proxied::proxy_endpoints;
pub use pty::SessionPty;
pub use records::{PreparedSession, SessionRequest};
