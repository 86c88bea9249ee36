//! Sessions (docs/architecture.md, "Sessions"): an agent process plus the
//! credentials of its linked vaults, alive together.
//!
//! Front ends start one with [`Launcher::launch`] (request in, running
//! session out). Underneath: [`prepare`] checks a [`SessionRequest`] (one
//! environment, an existing folder, an installed agent) and gives the
//! session its id; the [`McpEndpoint`]s to configure are the proxy's
//! loopback listeners in proxy mode, or [`direct_endpoints`] in direct mode;
//! [`SessionManager::start`] writes the agent's private config, starts it
//! in its own process group and watches it until it ends.
//!
//! Modules, one job each: `model` (what a session is), `launcher` (the one
//! way to start), `endpoint` (servers to configure, server names,
//! direct-mode tokens), `proxied` (proxy-mode endpoints), `private_dir` (the
//! 0700 temp folder), `launch` (each agent's command line, env and config
//! file), `program` (PATH lookup, preset detection), `process` (the
//! terminal and the process tree, with `process_unix`: process groups and
//! signals, and `process_windows`: ConPTY and Job Objects), `pty` (the
//! desktop's terminal), `rows` (the `sessions` table), `journal` (its one
//! writer, with the `session.*` events) and `records` (sessions on
//! record), the sandbox (`sandbox_folders`, the checks both systems share;
//! `sandbox_layout`, its rules; `sandbox`, bubblewrap on Linux; `seatbelt`
//! and `seatbelt_profile`, Seatbelt on macOS, never run on a Mac),
//! `manager`, `presence` (a person's approval before direct mode hands out
//! tokens) and the CLI asking the running app for it (`approval_socket`, a
//! Unix socket; `approval_pipe`, a named pipe on Windows).
//!
//! The crate `keybearer-session` (docs/architecture.md, "Crates"): Unix and
//! Windows (Windows: no sandbox; its sessions are compile-checked and
//! their processes, records and approvals tested under Wine, where ConPTY
//! shows no output). It builds on the engine (`Engine`, `Tokens`,
//! `keybearer_vault::beside` for its table), the sources of team vaults
//! (`keybearer-team-vaults`), the proxy, the bridge and the platform layer;
//! it must never reach OAuth's flows (a grant is renewed by the credential
//! source, never here) or the apps part.

#[cfg(windows)]
mod approval_pipe;
#[cfg(unix)]
mod approval_socket;
mod endpoint;
mod journal;
mod launch;
mod launcher;
mod manager;
mod model;
mod presence;
mod private_dir;
mod process;
#[cfg(unix)]
mod process_unix;
#[cfg(windows)]
mod process_windows;
mod program;
mod proxied;
mod pty;
mod records;
mod rows;
#[cfg(target_os = "linux")]
mod sandbox;
#[cfg(any(target_os = "linux", target_os = "macos"))]
mod sandbox_folders;
#[cfg_attr(not(any(target_os = "linux", target_os = "macos")), allow(dead_code))]
mod sandbox_layout;
#[cfg(target_os = "macos")]
mod seatbelt;
// Pure text, tested on every system; only macOS runs it.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod seatbelt_profile;

#[cfg(windows)]
pub use approval_pipe::{ask_app, ApprovalListener, Asked};
#[cfg(unix)]
pub use approval_socket::{ask_app, ApprovalListener, Asked, APPROVAL_SOCKET};
pub use endpoint::{direct_endpoints, server_names, HeaderSecret, McpEndpoint};
pub use keybearer_base::text::printable;
/// A session's live per-server activity, as its proxy counts it.
pub use keybearer_proxy::{ProxyActivity, ServerActivity};
pub use launch::{MCP_CONFIG_ENV, MCP_CONFIG_PLACEHOLDER, SESSION_ID_ENV};
pub use launcher::{Launcher, RunningSession};
pub use manager::{SessionManager, StartedSession, DEFAULT_STOP_GRACE};
pub use model::{Agent, AgentKind, InjectionMode, Session, SessionState};
pub use presence::{
    approval_code, inside_session, refused_inside_session, ApprovalRequest, ApprovedInWindow,
    Approver,
};
pub use process::{process_group_alive, Terminal};
pub use program::{detect_presets, PresetAvailability};
pub use pty::SessionPty;
pub use records::{
    prepare, recorded_session, recorded_sessions, stop_recorded_session, sweep_orphaned_sessions,
    PreparedSession, SessionRequest,
};
pub use sandbox_layout::writable_folders;
