//! Starting the agent in its own process group and ending that whole group.
//!
//! Two ways to give the agent a terminal:
//! - [`Terminal::Inherit`]: the current terminal, like `aws-vault exec`. The
//!   agent gets its own process group, which is made the terminal's
//!   foreground group while it runs (as a shell's job control does), so
//!   Ctrl-C and keyboard input reach the agent and it never stops on SIGTTIN.
//! - [`Terminal::Pty`]: a new pseudo-terminal (`portable-pty`) for the desktop
//!   app to draw; the agent leads a new session on it.
//!
//! Either way the agent's pid is its process group id, so Stop can signal
//! every process the agent started that stayed in its group.

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, pthread_sigmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::launch::LaunchPlan;
use super::pty::SessionPty;
use crate::error::{Error, Result};

/// Where the agent's terminal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// Share the current terminal (the CLI).
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
    pub(crate) foreground: Option<Foreground>,
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
        Terminal::Inherit => spawn_inherit(plan, working_dir),
        Terminal::Pty { rows, cols } => spawn_pty(plan, working_dir, rows, cols),
    }
}

fn spawn_inherit(plan: &LaunchPlan, working_dir: &Path) -> Result<Spawned> {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(&plan.program);
    command
        .args(&plan.args)
        .current_dir(working_dir)
        .process_group(0);
    for name in &plan.remove {
        command.env_remove(name);
    }
    for (name, value) in &plan.env {
        command.env(name, value.as_str());
    }
    let child = command
        .spawn()
        .map_err(|error| spawn_error(&plan.program, &error.to_string()))?;
    let pid = child.id();
    let foreground = Foreground::hand_over(pid);
    Ok(Spawned {
        pid,
        pty: None,
        foreground,
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
        pty: Some(SessionPty::new(pair.master)),
        foreground: None,
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

/// Sends `signal` to every process in the group. False if the group is gone.
pub(crate) fn signal_group(pgid: u32, signal: Signal) -> bool {
    match killpg(Pid::from_raw(pid_t(pgid)), signal) {
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
    match killpg(Pid::from_raw(pid_t(pgid)), None) {
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

/// The terminal handed to the agent's process group; `restore` takes it back.
#[derive(Debug)]
pub(crate) struct Foreground {
    previous: Pid,
}

impl Foreground {
    /// Makes the agent's group the foreground of our terminal, if we have one
    /// and are in its foreground ourselves.
    fn hand_over(pgid: u32) -> Option<Self> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let previous = nix::unistd::tcgetpgrp(&stdin).ok()?;
        if previous != nix::unistd::getpgrp() {
            return None;
        }
        let group = Pid::from_raw(pid_t(pgid));
        if let Err(errno) = nix::unistd::tcsetpgrp(&stdin, group) {
            tracing::warn!(%errno, "could not hand the terminal to the agent");
            return None;
        }
        // If it tried to read before it owned the terminal it was stopped: continue it.
        signal_group(pgid, Signal::SIGCONT);
        Some(Self { previous })
    }

    /// Takes the terminal back. We are then a background group, so the
    /// kernel's SIGTTOU is blocked for this thread during the call.
    pub(crate) fn restore(self) {
        let mut block = SigSet::empty();
        block.add(Signal::SIGTTOU);
        let mut old = SigSet::empty();
        let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok();
        if let Err(errno) = nix::unistd::tcsetpgrp(std::io::stdin(), self.previous) {
            tracing::warn!(%errno, "could not take the terminal back from the agent");
        }
        if blocked {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        }
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
}
