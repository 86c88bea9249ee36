//! Starting the agent in its own process group and ending that whole group.
//!
//! Two ways to give the agent a terminal:
//! - [`Terminal::Pty`]: a new pseudo-terminal (`portable-pty`); the agent
//!   leads a new session on it. The desktop app draws it; the CLI relays it
//!   to and from the user's terminal (`keybearer-cli`'s `relay`).
//! - [`Terminal::Inherit`]: the current standard input and outputs, in a
//!   new terminal session with no controlling terminal. For a CLI whose
//!   input is not a terminal.
//!
//! Never the user's own terminal: a program there can push keystrokes into
//! its input (`ioctl(TIOCSTI)`), which the user's shell then runs outside
//! any sandbox once the agent exits. On its own pseudo-terminal it can only
//! type to itself.
//!
//! Either way the agent's pid is its process group id (and its session
//! id), so Stop can signal every process the agent started that stayed in
//! its group.

use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::launch::LaunchPlan;
use super::pty::SessionPty;
use keybearer_base::error::{Error, Result};

/// Where the agent's terminal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// This process's standard input and outputs, without a controlling
    /// terminal (the CLI when its input is not a terminal).
    Inherit,
    /// A new pseudo-terminal of this size (the desktop app).
    Pty { rows: u16, cols: u16 },
}

/// How the agent's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
}

/// A started agent. Dropping it does not stop the agent: the session
/// manager does that explicitly.
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    pub(crate) pty: Option<SessionPty>,
    /// Kept so its handles live as long as the process; reaping goes through `wait`.
    _child: ChildHandle,
}

#[allow(dead_code)] // held for ownership only
enum ChildHandle {
    Std(std::process::Child),
    Pty(Box<dyn portable_pty::Child + Send + Sync>),
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").field("pid", &self.pid).finish()
    }
}

pub(crate) fn spawn(plan: &LaunchPlan, working_dir: &Path, terminal: Terminal) -> Result<Spawned> {
    match terminal {
        Terminal::Inherit => spawn_detached(plan, working_dir),
        Terminal::Pty { rows, cols } => spawn_pty(plan, working_dir, rows, cols),
    }
}

fn spawn_detached(plan: &LaunchPlan, working_dir: &Path) -> Result<Spawned> {
    // util-linux's `setsid` makes the new session and then runs the agent
    // in its place (same pid: the child it runs in leads no group, so it
    // does not fork). Calling setsid(2) between fork and exec ourselves
    // would need `unsafe`, which this workspace forbids.
    #[cfg(target_os = "linux")]
    let mut command = {
        let mut command = std::process::Command::new("setsid");
        command.arg("--").arg(&plan.program);
        command
    };
    #[cfg(not(target_os = "linux"))]
    let mut command = {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(&plan.program);
        command.process_group(0);
        command
    };
    command.args(&plan.args).current_dir(working_dir);
    for name in &plan.remove {
        command.env_remove(name);
    }
    for (name, value) in &plan.env {
        command.env(name, value.as_str());
    }
    let child = command
        .spawn()
        .map_err(|error| spawn_error(&plan.program, &error.to_string()))?;
    Ok(Spawned {
        pid: child.id(),
        pty: None,
        _child: ChildHandle::Std(child),
    })
}

fn spawn_pty(plan: &LaunchPlan, working_dir: &Path, rows: u16, cols: u16) -> Result<Spawned> {
    let pair = portable_pty::native_pty_system()
        .openpty(portable_pty::PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|error| Error::Spawn(format!("no pseudo-terminal is available ({error})")))?;
    let mut builder = portable_pty::CommandBuilder::new(&plan.program);
    builder.args(&plan.args);
    builder.cwd(working_dir);
    // What the desktop app's terminal (xterm.js) understands.
    builder.env("TERM", "xterm-256color");
    for name in &plan.remove {
        builder.env_remove(name);
    }
    for (name, value) in &plan.env {
        builder.env(name, value.as_str());
    }
    // Before the agent runs: it may end (and the terminal close) before
    // anyone reads it.
    let pty = SessionPty::new(pair.master)?;
    let child = pair
        .slave
        .spawn_command(builder)
        .map_err(|error| spawn_error(&plan.program, &format!("{error:#}")))?;
    // The child has its own copy; ours would keep the terminal open after it exits.
    drop(pair.slave);
    let pid = child
        .process_id()
        .ok_or_else(|| Error::Spawn("the agent's process id is unknown".into()))?;
    Ok(Spawned {
        pid,
        pty: Some(pty),
        _child: ChildHandle::Pty(child),
    })
}

fn spawn_error(program: &Path, detail: &str) -> Error {
    Error::Spawn(format!("{} ({detail})", program.display()))
}

/// Waits for the agent (the group leader) to end. Blocks.
pub(crate) fn wait(pid: u32) -> Result<Exit> {
    let pid = Pid::from_raw(pid_t(pid));
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Exit::Code(code)),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(Exit::Signal(signal as i32)),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => return Err(Error::Io(std::io::Error::from(errno))),
        }
    }
}

fn pid_t(pid: u32) -> i32 {
    i32::try_from(pid).unwrap_or(i32::MAX)
}

/// A real session's process group: never 0 (`killpg(0)` is the caller's
/// own group) nor 1 (init's). A record holding one is damaged; it is left
/// alone rather than signalling Keybearer's own group or the system's.
fn session_group(pgid: u32) -> Option<Pid> {
    if pgid <= 1 {
        tracing::error!(
            pgid,
            "refused to signal a process group that cannot be a session's"
        );
        return None;
    }
    Some(Pid::from_raw(pid_t(pgid)))
}

/// Sends `signal` to every process in the group. False if the group is gone.
pub(crate) fn signal_group(pgid: u32, signal: Signal) -> bool {
    let Some(group) = session_group(pgid) else {
        return false;
    };
    match killpg(group, signal) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(errno) => {
            tracing::warn!(%errno, pgid, ?signal, "could not signal a session's process group");
            true
        }
    }
}

/// Whether any process of the group is still running. Exited processes
/// waiting to be reaped (zombies) do not count where the OS lets us tell.
pub fn process_group_alive(pgid: u32) -> bool {
    let Some(group) = session_group(pgid) else {
        return false;
    };
    match killpg(group, None) {
        Err(Errno::ESRCH) => false,
        _ => live_members_known(pgid).unwrap_or(true),
    }
}

#[cfg(target_os = "linux")]
fn live_members_known(pgid: u32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(stat) = proc_stat(pid) {
            if stat.pgrp == pgid && stat.state != 'Z' && stat.state != 'X' {
                return Some(true);
            }
        }
    }
    Some(false)
}

#[cfg(not(target_os = "linux"))]
fn live_members_known(_pgid: u32) -> Option<bool> {
    None
}

/// SIGTERM to the group, then SIGKILL if anything of it is left after
/// `grace`. Returns once `finished()` says so, or after a bounded wait.
pub(crate) fn terminate_group(pgid: u32, grace: Duration, finished: impl Fn() -> bool) {
    if finished() {
        return;
    }
    signal_group(pgid, Signal::SIGTERM);
    // A stopped process cannot act on SIGTERM until continued.
    signal_group(pgid, Signal::SIGCONT);
    if wait_until(grace, &finished) {
        return;
    }
    tracing::info!(pgid, "the agent did not end on SIGTERM; sending SIGKILL");
    signal_group(pgid, Signal::SIGKILL);
    wait_until(Duration::from_secs(10), &finished);
}

/// Polls `done` until it holds or `limit` passes. True if it held.
pub(crate) fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) state: char,
    pub(crate) ppid: u32,
    pub(crate) pgrp: u32,
    /// The terminal session (`setsid`) the process belongs to.
    pub(crate) session: u32,
    pub(crate) start_time: u64,
}

/// `/proc/PID/stat` on Linux: state, parent, process group and start time (clock
/// ticks since boot, which tells a reused pid from the original process).
#[cfg(target_os = "linux")]
pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn proc_stat(_pid: u32) -> Option<ProcStat> {
    None
}

/// Whether a process with this pid exists (zombies included).
pub(crate) fn process_exists(pid: u32) -> bool {
    !matches!(
        nix::sys::signal::kill(Pid::from_raw(pid_t(pid)), None),
        Err(Errno::ESRCH)
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_stat() {
        let stat = proc_stat(std::process::id()).expect("own stat");
        assert_eq!(
            stat.pgrp,
            u32::try_from(nix::unistd::getpgrp().as_raw()).expect("pgrp")
        );
        assert!(stat.start_time > 0);
        assert!(process_exists(std::process::id()));
    }

    /// `killpg(0, …)` would reach this very process's group, `killpg(1, …)`
    /// init's: a damaged record must not make a stop do that.
    #[test]
    fn groups_0_and_1_are_never_signalled() {
        assert!(!signal_group(0, Signal::SIGCONT));
        assert!(!signal_group(1, Signal::SIGCONT));
        assert!(!process_group_alive(0));
        assert!(!process_group_alive(1));
        // Our own group is alive: the check itself works.
        let own = nix::unistd::getpgrp().as_raw();
        assert!(process_group_alive(u32::try_from(own).expect("pgid")));
    }
}
