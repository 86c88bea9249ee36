//! Starting the agent so that its whole process tree can be ended, and
//! ending it (docs/architecture.md, "Sessions").
//!
//! Two ways to give the agent a terminal:
//! - [`Terminal::Pty`]: a new pseudo-terminal (`portable-pty`: a PTY on
//!   Unix, a ConPTY on Windows). The desktop app draws it; the CLI relays
//!   it to and from the user's terminal (`keybearer-cli`'s `relay`).
//! - [`Terminal::Inherit`]: the current standard input and outputs, with no
//!   controlling terminal (Unix: a new terminal session; Windows: a hidden
//!   console of its own). For a CLI whose input is not a terminal.
//!
//! Never the user's own terminal: a program there can push keystrokes into
//! its input (`ioctl(TIOCSTI)` on Unix, `WriteConsoleInput` on Windows),
//! which the user's shell then runs outside any sandbox once the agent
//! exits. On its own terminal it can only type to itself.
//!
//! The agent's processes are held together by a [`Tree`]: on Unix its
//! process group (the agent's pid is its group id and its session id;
//! `process_unix`), on Windows a Job Object it is put in as soon as it
//! exists (`process_windows`, `keybearer_platform::job`). Stop ends the tree.

use std::path::Path;
use std::time::{Duration, Instant};

use super::launch::LaunchPlan;
use super::pty::SessionPty;
use keybearer_base::error::{Error, Result};

#[cfg(unix)]
pub use super::process_unix::process_group_alive;
#[cfg(unix)]
pub(crate) use super::process_unix::{
    proc_stat, process_exists, spawn_detached, terminate_group, wait_child, Tree,
};
#[cfg(windows)]
pub use super::process_windows::process_group_alive;
#[cfg(windows)]
pub(crate) use super::process_windows::{
    contain, proc_stat, process_exists, pty_program, spawn_detached, wait_child, Tree,
};

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
    #[cfg_attr(windows, allow(dead_code))] // Windows has no signals
    Signal(i32),
}

/// A started agent. Dropping it does not stop the agent: the session
/// manager does that explicitly, through its [`Tree`].
pub(crate) struct Spawned {
    pub(crate) pid: u32,
    pub(crate) pty: Option<SessionPty>,
    pub(crate) tree: Tree,
    /// Kept so its handles live as long as the process (Unix reaps the
    /// agent by its pid; Windows waits on it through this).
    #[cfg_attr(unix, allow(dead_code))]
    pub(crate) child: ChildHandle,
}

#[cfg_attr(unix, allow(dead_code))] // held for ownership only on Unix
pub(crate) enum ChildHandle {
    Std(std::process::Child),
    Pty(Box<dyn portable_pty::Child + Send + Sync>),
}

impl std::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawned").field("pid", &self.pid).finish()
    }
}

impl Spawned {
    /// Waits for the agent to end. Blocks. `stop_asked` says whether another
    /// Keybearer process asked (through the database) to stop the session;
    /// Windows ends the tree then (on Unix that process signals the group
    /// itself, and this is not asked).
    pub(crate) fn wait(&mut self, stop_asked: &dyn Fn() -> bool) -> Result<Exit> {
        wait_child(self, stop_asked)
    }
}

pub(crate) fn spawn(plan: &LaunchPlan, working_dir: &Path, terminal: Terminal) -> Result<Spawned> {
    match terminal {
        Terminal::Inherit => spawn_detached(plan, working_dir),
        Terminal::Pty { rows, cols } => spawn_pty(plan, working_dir, rows, cols),
    }
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
    #[cfg(unix)]
    let (program, args) = (plan.program.clone(), plan.args.clone());
    #[cfg(windows)]
    let (program, args) = pty_program(plan)?;
    let mut builder = portable_pty::CommandBuilder::new(&program);
    builder.args(&args);
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
    #[cfg(unix)]
    let tree = Tree::group(pid);
    #[cfg(windows)]
    let tree = contain(child.as_ref())?;
    Ok(Spawned {
        pid,
        pty: Some(pty),
        tree,
        child: ChildHandle::Pty(child),
    })
}

pub(crate) fn spawn_error(program: &Path, detail: &str) -> Error {
    Error::Spawn(format!("{} ({detail})", program.display()))
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
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) state: char,
    pub(crate) ppid: u32,
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) pgrp: u32,
    /// The terminal session (`setsid`) the process belongs to.
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) session: u32,
    /// When it started (Linux: clock ticks since boot; Windows: seconds
    /// since 1970), which tells a reused pid from the original process.
    pub(crate) start_time: u64,
}
