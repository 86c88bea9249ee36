//! Facts about a process by its id, as Windows reports them
//! (docs/architecture.md, "Platforms"): whether it runs, when it started,
//! its parent, the user it runs as (a SID such as `S-1-5-21-…`) and its
//! command line. Linux reads the same facts from `/proc` where it needs
//! them; Windows has no such folder, so they come from `sysinfo` (the
//! system's process list, `NtQuerySystemInformation`, and the process's
//! token, behind a safe interface: the workspace forbids `unsafe`).
//!
//! macOS uses [`ancestors`] for an approval asker's parents (no `/proc`).
//!
//! Each question lists the processes afresh (a few milliseconds): a fact is
//! as old as the call, never cached, except this process's own user.
//!
//! Limits: the user of another person's process, or of a service, can only
//! be read with rights Keybearer does not ask for, so it is `None`; callers
//! treat an unknown user as not theirs. A parent id is whatever Windows
//! recorded when the process started: the parent may have ended and its id
//! been given to another process since, which [`ancestors`] notices by the
//! start times (a parent never starts after its child).

use std::sync::OnceLock;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

/// One process, as Windows reported it just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFacts {
    pub pid: u32,
    /// The process that started it, as recorded then (see the module's limits).
    pub parent: Option<u32>,
    /// When it started, in seconds since 1970: with the pid, tells a reused
    /// id from the process that had it first.
    pub start_time: u64,
    /// The SID of the user it runs as; `None` when Windows does not say
    /// (another user's process, a service's).
    pub user: Option<String>,
    /// Its program and arguments (empty when they cannot be read).
    pub command: Vec<String>,
}

/// What Windows says about `pid` now; `None` when no such process runs.
pub fn facts(pid: u32) -> Option<ProcessFacts> {
    let wanted = Pid::from_u32(pid);
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[wanted]),
        true,
        ProcessRefreshKind::nothing()
            .with_user(UpdateKind::Always)
            .with_cmd(UpdateKind::Always),
    );
    let process = system.process(wanted)?;
    Some(ProcessFacts {
        pid,
        parent: process.parent().map(Pid::as_u32),
        start_time: process.start_time(),
        user: process.user_id().map(|sid| sid.to_string()),
        command: process
            .cmd()
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect(),
    })
}

/// Whether a process with this id runs.
pub fn exists(pid: u32) -> bool {
    let wanted = Pid::from_u32(pid);
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[wanted]),
        true,
        ProcessRefreshKind::nothing(),
    );
    system.process(wanted).is_some()
}

/// The users of several processes at once (one listing): pid → SID, for
/// those whose user Windows says.
pub fn users_of(pids: &[u32]) -> std::collections::HashMap<u32, String> {
    let wanted: Vec<Pid> = pids.iter().copied().map(Pid::from_u32).collect();
    let mut system = System::new();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&wanted),
        true,
        ProcessRefreshKind::nothing().with_user(UpdateKind::Always),
    );
    wanted
        .iter()
        .filter_map(|pid| {
            let user = system.process(*pid)?.user_id()?;
            Some((pid.as_u32(), user.to_string()))
        })
        .collect()
}

/// The SID of the user this process runs as (read once).
pub fn own_user() -> Option<String> {
    static OWN: OnceLock<Option<String>> = OnceLock::new();
    OWN.get_or_init(|| facts(std::process::id()).and_then(|facts| facts.user))
        .clone()
}

/// Whether `pid` runs as this process's user. An unknown user is not ours.
pub fn runs_as_us(pid: u32) -> bool {
    match (own_user(), facts(pid).and_then(|facts| facts.user)) {
        (Some(own), Some(theirs)) => own == theirs,
        _ => false,
    }
}

/// The parent, grandparent, … of `pid`, nearest first, as long as each
/// still runs and started no later than the one before it (a later start
/// means the recorded parent ended and its id went to another process).
/// At most 256 steps.
pub fn ancestors(pid: u32) -> Vec<ProcessFacts> {
    let mut found = Vec::new();
    let Some(mut current) = facts(pid) else {
        return found;
    };
    while found.len() < 256 {
        let Some(parent) = current.parent.filter(|parent| *parent != current.pid) else {
            break;
        };
        let Some(parent) = facts(parent) else {
            break;
        };
        if parent.start_time > current.start_time {
            break;
        }
        found.push(parent.clone());
        current = parent;
    }
    found
}

#[cfg(all(test, windows))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_known_with_its_user_and_command() {
        let own = facts(std::process::id()).expect("this process");
        assert!(own.start_time > 1_600_000_000, "{own:?}");
        let user = own.user.expect("our own user is readable");
        assert!(user.starts_with("S-1-"), "{user}");
        assert_eq!(own_user(), Some(user));
        assert!(!own.command.is_empty());
        assert!(exists(std::process::id()));
        assert!(runs_as_us(std::process::id()));
    }

    #[test]
    fn a_child_names_us_as_its_parent_and_is_gone_once_ended() {
        let reports = crate::test_helper::Reports::new();
        let mut child = reports.spawn("hold", &[]);
        let report = reports.next();
        assert_eq!(report.pid(), child.id());
        let child_facts = facts(child.id()).expect("the child");
        assert_eq!(child_facts.parent, Some(std::process::id()));
        assert!(child_facts.start_time >= own_start(), "{child_facts:?}");
        assert!(ancestors(child.id())
            .iter()
            .any(|ancestor| ancestor.pid == std::process::id()));
        assert!(runs_as_us(child.id()));
        assert_eq!(
            users_of(&[child.id()]).get(&child.id()),
            own_user().as_ref()
        );
        let pid = child.id();
        child.kill().expect("kill");
        child.wait().expect("wait");
        drop(child);
        assert!(!exists(pid));
        assert!(!runs_as_us(pid));
        assert!(facts(pid).is_none());
    }

    fn own_start() -> u64 {
        facts(std::process::id()).expect("own").start_time
    }
}
