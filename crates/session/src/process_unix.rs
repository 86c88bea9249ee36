//! The agent's processes on Unix (docs/architecture.md, "Sessions"): it
//! leads a new terminal session and process group (its pid is both ids),
//! so Stop signals every process it started that stayed in its group:
//! SIGTERM, then SIGKILL after a grace period.

use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::launch::LaunchPlan;
use super::process::{spawn_error, wait_until, ChildHandle, Exit, ProcStat, Spawned};
use keybearer_base::error::{Error, Result};

/// A session's processes: the agent's process group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tree {
    pgid: u32,
}

impl Tree {
    /// The group the agent `pid` leads.
    pub(crate) fn group(pid: u32) -> Self {
        Self { pgid: pid }
    }

    /// Whether any process of the group still runs.
    pub(crate) fn alive(&self) -> bool {
        process_group_alive(self.pgid)
    }

    /// SIGTERM (and SIGCONT: a stopped process cannot act on SIGTERM).
    pub(crate) fn ask_to_end(&self) {
        signal_group(self.pgid, Signal::SIGTERM);
        signal_group(self.pgid, Signal::SIGCONT);
    }

    pub(crate) fn force_end(&self) {
        signal_group(self.pgid, Signal::SIGKILL);
    }

    /// SIGTERM, then SIGKILL after `grace`; see [`terminate_group`].
    pub(crate) fn terminate(&self, grace: Duration, finished: impl Fn() -> bool) {
        terminate_group(self.pgid, grace, finished);
    }
}

pub(crate) fn spawn_detached(plan: &LaunchPlan, working_dir: &Path) -> Result<Spawned> {
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
        tree: Tree::group(child.id()),
        child: ChildHandle::Std(child),
    })
}

/// Waits for the agent (the group leader) to end. Blocks.
pub(crate) fn wait_child(spawned: &mut Spawned, _stop_asked: &dyn Fn() -> bool) -> Result<Exit> {
    let pid = Pid::from_raw(pid_t(spawned.pid));
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
