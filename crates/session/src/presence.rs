//! A person's approval before a real token leaves the vault
//! (docs/architecture.md, "User presence").
//!
//! Direct mode writes real tokens where the agent can read them, so the
//! launcher asks an [`Approver`] first, naming the program, the vaults and
//! the environment ([`ApprovalRequest`]). Proxy mode and app connections
//! never ask: no token leaves.
//!
//! Who approves depends on the front end:
//! - the desktop window: the user chose direct mode in the form and
//!   confirmed it there;
//! - the command line: the running desktop app, over a private socket in
//!   the data folder (`approval_socket`), shows an approval dialog and the
//!   CLI waits; with no app running, a code shown and typed on the
//!   controlling terminal. Inside a Keybearer session ([`inside_session`]) or without a
//!   terminal, the CLI refuses: there an agent could answer for the user.
//!
//! Limits: this keeps a prompt-injected agent from *asking* Keybearer for a
//! token; it is not a wall against a program that already runs as the user
//! outside any sandbox (such a program can read the keychain itself; the
//! sandbox is what hides it, see `sandbox`). The session check follows the
//! process tree, the agent's process group and its terminal session; a
//! program can leave all three only by starting a new terminal session,
//! which has no controlling terminal, and the app's dialog still asks the
//! person. A program of the user's can also answer on the socket while no
//! app runs.

use serde::{Deserialize, Serialize};

use keybearer_base::error::{Error, Result};
use keybearer_vault::Engine;

use super::launch::SESSION_ID_ENV;
#[cfg(target_os = "linux")]
use super::process::proc_stat;
use super::records::running_session_pids;

/// What a person is asked to approve. Holds no secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The agent's program as the user would recognise it (`claude`, or the
    /// custom command's path).
    pub program: String,
    /// The display names of the vaults whose tokens the program gets.
    pub vaults: Vec<String>,
    /// Their environment (one per session).
    pub environment: String,
}

/// Gives or refuses a person's approval for a token to leave the vault.
pub trait Approver {
    /// `Ok` when a person approved; otherwise [`Error::NotApproved`] saying
    /// why and what to do.
    fn approve(&self, request: &ApprovalRequest) -> Result<()>;
}

/// The person already approved in the window that asked (the desktop form:
/// choosing direct mode and confirming it there is the approval).
#[derive(Debug, Clone, Copy)]
pub struct ApprovedInWindow;

impl Approver for ApprovedInWindow {
    fn approve(&self, _request: &ApprovalRequest) -> Result<()> {
        Ok(())
    }
}

/// Whether this process runs inside a Keybearer session: it carries a
/// session's id in its environment, or a running session's agent is among
/// its ancestors or leads its process group (Windows: or this process is in
/// a session's job held here). Answers `true` when in doubt about the
/// environment variable (an agent may unset it; the process tree is then
/// what tells).
pub fn inside_session(engine: &mut Engine) -> Result<bool> {
    if std::env::var_os(SESSION_ID_ENV).is_some_and(|id| !id.is_empty()) {
        return Ok(true);
    }
    let agents = running_session_pids(engine)?;
    Ok(runs_inside(std::process::id(), &agents))
}

/// Whether the process `pid` (this one, or an asker on the approval
/// channel) is an agent of `agents` or runs below one: its process group,
/// its terminal session (a program that left the agent's tree and group but
/// kept its terminal; changing that loses the terminal) or an ancestor is
/// one. A process that is already gone is counted inside: it can no longer
/// be told apart (an asker that sent its request and exited while the
/// window showed another), and nobody waits for its answer.
#[cfg(unix)]
fn runs_inside(pid: u32, agents: &[u32]) -> bool {
    let Some(place) = place_of(pid) else {
        return true;
    };
    if agents.is_empty() {
        return false;
    }
    if agents.contains(&pid) || agents.contains(&place.group) {
        return true;
    }
    if agents
        .iter()
        .any(|agent| place_of(*agent).is_some_and(|agent| agent.session == place.session))
    {
        return true;
    }
    parents_of(pid).iter().any(|parent| agents.contains(parent))
}

/// A process's group and terminal session (`getpgid`, `getsid`: Linux and
/// macOS alike); `None` when it is gone.
#[cfg(unix)]
struct Place {
    group: u32,
    session: u32,
}

#[cfg(unix)]
fn place_of(pid: u32) -> Option<Place> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).ok()?);
    let group = nix::unistd::getpgid(Some(pid)).ok()?.as_raw();
    let session = nix::unistd::getsid(Some(pid)).ok()?.as_raw();
    Some(Place {
        group: u32::try_from(group).ok()?,
        session: u32::try_from(session).ok()?,
    })
}

/// The parents of `pid`: from `/proc` on Linux, from the system's process
/// list on macOS (the platform layer; a reused parent id is told by its
/// start time).
#[cfg(target_os = "linux")]
fn parents_of(pid: u32) -> Vec<u32> {
    ancestors(pid).collect()
}

#[cfg(all(unix, not(target_os = "linux")))]
fn parents_of(pid: u32) -> Vec<u32> {
    keybearer_platform::process::ancestors(pid)
        .iter()
        .map(|parent| parent.pid)
        .collect()
}

/// Whether the process `pid` runs inside a session recorded in `data_dir`
/// (or, on Windows, one this process holds): what the app's end of the
/// approval channel asks of every asker, so an agent that talks to the
/// channel itself, not through the command line's own check, is refused.
pub(crate) fn asker_inside_session(data_dir: &std::path::Path, pid: u32) -> Result<bool> {
    let store = keybearer_vault::beside::Store::open(data_dir)?;
    let agents = super::records::running_session_pids_in(store.conn())?;
    Ok(runs_inside(pid, &agents))
}

/// Windows: the process is in a session's job this process holds (no
/// process can leave a job), or one of its ancestors (checked by start
/// time, so a reused id is not taken for a parent) is a session's agent.
#[cfg(windows)]
fn runs_inside(pid: u32, agents: &[u32]) -> bool {
    if keybearer_platform::job::held_in_a_tree(pid) || agents.contains(&pid) {
        return true;
    }
    !agents.is_empty()
        && keybearer_platform::process::ancestors(pid)
            .iter()
            .any(|ancestor| agents.contains(&ancestor.pid))
}

/// The parent, grandparent, … of `pid`, up to (not including) pid 1.
#[cfg(target_os = "linux")]
fn ancestors(pid: u32) -> impl Iterator<Item = u32> {
    let mut current = pid;
    std::iter::from_fn(move || {
        let parent = proc_stat(current)?.ppid;
        // A cycle cannot happen in a process tree; the bound is for safety.
        (parent > 1 && parent != current).then(|| {
            current = parent;
            parent
        })
    })
    .take(256)
}

/// A process's command line as the approval dialog shows it: its parts
/// joined by spaces, control characters dropped, at most 300 characters.
pub(crate) fn command_text(parts: Vec<String>) -> String {
    let text: String = parts
        .iter()
        .filter(|part| !part.is_empty())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if text.chars().count() > 300 {
        text.chars().take(299).chain(['…']).collect()
    } else {
        text
    }
}

/// A short code the person types to approve on a terminal: a program that
/// can push keystrokes into the terminal (`TIOCSTI`) cannot see what the
/// terminal shows, so it cannot type the code. Letters and digits that are
/// hard to mistake for each other.
pub fn approval_code() -> Result<String> {
    const ALPHABET: &[u8] = b"ACDEFHJKLMNPRTUVWXY3479";
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).map_err(|error| Error::Randomness(error.to_string()))?;
    Ok(random
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect())
}

/// The refusal for a program inside a session.
pub fn refused_inside_session() -> Error {
    Error::NotApproved(
        "This command runs inside a Keybearer session, where the agent could approve it by itself, so direct mode is refused here. Start direct-mode sessions from your own terminal or from the Keybearer window.".into(),
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::{ancestors, approval_code};

    #[test]
    fn the_approval_code_is_short_and_plain() {
        let code = approval_code().expect("code");
        assert_eq!(code.chars().count(), 4);
        assert!(code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    }

    #[test]
    fn ancestors_lead_to_our_parent() {
        let parent = std::os::unix::process::parent_id();
        let found: Vec<u32> = ancestors(std::process::id()).collect();
        if parent > 1 {
            assert_eq!(found.first(), Some(&parent));
        }
        assert!(!found.contains(&1) && !found.contains(&std::process::id()));
    }
}
