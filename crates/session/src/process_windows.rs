//! The agent's processes on Windows (docs/architecture.md, "Sessions"):
//! started in a ConPTY (portable-pty) or with a hidden console of its own,
//! and put at once into a Job Object (`keybearer_platform::job`) that ends
//! every process in it when the session ends, is stopped, or the Keybearer
//! process holding it dies. A process that cannot be put in its job is
//! ended and the session refused: an agent never runs outside one.
//!
//! Windows has no SIGTERM: Stop ends the tree at once (the grace period is
//! for Unix). Another Keybearer process asks to stop a session through the
//! database (`stop_requested`), which the process holding the job reads
//! while it waits for the agent.
//!
//! A batch file (`.cmd`, `.bat`: how npm installs `claude` and `codex`)
//! runs through `cmd.exe`, which reads its command line by rules of its
//! own (`&`, `|`, `%`, quotes…); there it is run only when no part of its
//! command line needs quoting or holds such a character, and refused with
//! a message otherwise. Limits: see `keybearer_platform::job` (the first
//! moments before the agent is in its job).

use std::path::{Path, PathBuf};
use std::time::Duration;

use keybearer_platform::job::ProcessTree;

use super::launch::LaunchPlan;
use super::process::{spawn_error, wait_until, ChildHandle, Exit, ProcStat, Spawned};
use keybearer_base::error::{Error, Result};

/// `CREATE_NO_WINDOW`: a console of its own that nobody sees, so the agent
/// cannot type into the user's (`WriteConsoleInput`).
const CREATE_NO_WINDOW: u32 = 0x0800_0000;
/// How often the waiting thread looks at the agent and at stop requests.
const POLL: Duration = Duration::from_millis(200);

/// A session's processes: the agent's Job Object.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    job: ProcessTree,
}

impl Tree {
    /// Whether any process of the session still runs.
    pub(crate) fn alive(&self) -> bool {
        self.job.alive()
    }

    /// There is no polite way on Windows: ends the tree.
    pub(crate) fn ask_to_end(&self) {
        self.job.end();
    }

    pub(crate) fn force_end(&self) {
        self.job.end();
    }

    /// Ends the tree now and waits (bounded) for `finished`.
    pub(crate) fn terminate(&self, _grace: Duration, finished: impl Fn() -> bool) {
        if finished() {
            return;
        }
        self.job.end();
        wait_until(Duration::from_secs(10), finished);
    }
}

fn job_error(error: &std::io::Error) -> Error {
    Error::Spawn(format!(
        "the agent could not be held in a Windows job, so it was ended ({error})"
    ))
}

/// Puts a ConPTY child in a new tree; ends it if that fails.
pub(crate) fn contain(child: &(dyn portable_pty::Child + Send + Sync)) -> Result<Tree> {
    let contained = ProcessTree::new().and_then(|job| {
        let handle = child
            .as_raw_handle()
            .ok_or_else(|| std::io::Error::other("no handle to the agent's process"))?;
        job.add_raw(handle)?;
        Ok(job)
    });
    match contained {
        Ok(job) => Ok(Tree { job }),
        Err(error) => {
            let _ = child.clone_killer().kill();
            Err(job_error(&error))
        }
    }
}

pub(crate) fn spawn_detached(plan: &LaunchPlan, working_dir: &Path) -> Result<Spawned> {
    use std::os::windows::process::CommandExt;
    let job = ProcessTree::new().map_err(|error| job_error(&error))?;
    // The standard library runs a batch file through cmd.exe itself,
    // quoting its arguments safely or refusing them.
    let mut command = std::process::Command::new(&plan.program);
    command
        .args(&plan.args)
        .current_dir(working_dir)
        .creation_flags(CREATE_NO_WINDOW);
    for name in &plan.remove {
        command.env_remove(name);
    }
    for (name, value) in &plan.env {
        command.env(name, value.as_str());
    }
    let mut child = command
        .spawn()
        .map_err(|error| spawn_error(&plan.program, &error.to_string()))?;
    if let Err(error) = job.add(&child) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(job_error(&error));
    }
    Ok(Spawned {
        pid: child.id(),
        pty: None,
        tree: Tree { job },
        child: ChildHandle::Std(child),
    })
}

fn is_batch(program: &Path) -> bool {
    program
        .extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| {
            extension.eq_ignore_ascii_case("cmd") || extension.eq_ignore_ascii_case("bat")
        })
}

/// Whether cmd.exe reads `part` as the one word it is: nothing it would
/// quote, split or expand.
fn plain_for_cmd(part: &str) -> bool {
    !part.is_empty()
        && part
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"\"&|<>^%!(),;=".contains(c))
}

/// The program and arguments a ConPTY starts: the agent's own, or for a
/// batch file `cmd.exe /d /c` and its words (see the module's header).
pub(crate) fn pty_program(plan: &LaunchPlan) -> Result<(PathBuf, Vec<String>)> {
    if !is_batch(&plan.program) {
        return Ok((plan.program.clone(), plan.args.clone()));
    }
    let program = plan.program.to_str().filter(|text| plain_for_cmd(text));
    let (Some(program), true) = (program, plan.args.iter().all(|arg| plain_for_cmd(arg))) else {
        return Err(Error::Spawn(format!(
            "{} is a batch file, which Windows runs through cmd.exe, and its command line has spaces, quotes or characters cmd.exe would read as commands. Install the agent as a program (.exe), or move it and your Keybearer data to folders without spaces.",
            plan.program.display()
        )));
    };
    let shell = std::env::var_os("ComSpec")
        .map(PathBuf::from)
        .filter(|shell| shell.is_absolute())
        .unwrap_or_else(|| PathBuf::from(r"C:\Windows\System32\cmd.exe"));
    let mut args = vec!["/d".to_string(), "/c".to_string(), program.to_string()];
    args.extend(plan.args.iter().cloned());
    Ok((shell, args))
}

/// Waits for the agent to end, ending its tree when another process asked
/// for a stop. Blocks.
pub(crate) fn wait_child(spawned: &mut Spawned, stop_asked: &dyn Fn() -> bool) -> Result<Exit> {
    let mut ended = false;
    let mut rounds: u32 = 0;
    loop {
        let code = match &mut spawned.child {
            ChildHandle::Std(child) => child.try_wait()?.map(|status| status.code().unwrap_or(1)),
            ChildHandle::Pty(child) => child
                .try_wait()?
                .map(|status| i32::from_ne_bytes(status.exit_code().to_ne_bytes())),
        };
        if let Some(code) = code {
            return Ok(Exit::Code(code));
        }
        // The database is asked about once a second.
        if !ended && rounds % 5 == 0 && stop_asked() {
            spawned.tree.force_end();
            ended = true;
        }
        rounds = rounds.wrapping_add(1);
        std::thread::sleep(POLL);
    }
}

/// What Windows says about `pid` (its parent and start time; no groups or
/// terminal sessions on Windows).
pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let facts = keybearer_platform::process::facts(pid)?;
    Some(ProcStat {
        state: 'R',
        ppid: facts.parent.unwrap_or(0),
        pgrp: 0,
        session: 0,
        start_time: facts.start_time,
    })
}

pub(crate) fn process_exists(pid: u32) -> bool {
    keybearer_platform::process::exists(pid)
}

/// Whether the agent `pid` still runs. On Windows only the Keybearer
/// process holding a session's job knows its other processes; they end
/// with that process.
pub fn process_group_alive(pid: u32) -> bool {
    pid > 4 && process_exists(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn plan(program: &str, args: &[&str]) -> LaunchPlan {
        LaunchPlan {
            program: PathBuf::from(program),
            args: args.iter().map(|arg| arg.to_string()).collect(),
            env: vec![("X".into(), Zeroizing::new("1".into()))],
            remove: Vec::new(),
        }
    }

    #[test]
    fn a_program_runs_as_it_is() {
        let (program, args) = pty_program(&plan(
            r"C:\Program Files\Agent\agent.exe",
            &["--flag", "a b"],
        ))
        .expect("program");
        assert_eq!(program, PathBuf::from(r"C:\Program Files\Agent\agent.exe"));
        assert_eq!(args, ["--flag", "a b"]);
    }

    #[test]
    fn a_batch_file_runs_through_cmd_only_with_plain_words() {
        let (program, args) = pty_program(&plan(
            r"C:\Users\jan\AppData\Roaming\npm\claude.CMD",
            &[
                "--mcp-config",
                r"C:\Users\jan\AppData\Roaming\keybearer\run\x\mcp.json",
            ],
        ))
        .expect("plain");
        assert!(program
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with("cmd.exe"));
        assert_eq!(
            args,
            [
                "/d",
                "/c",
                r"C:\Users\jan\AppData\Roaming\npm\claude.CMD",
                "--mcp-config",
                r"C:\Users\jan\AppData\Roaming\keybearer\run\x\mcp.json"
            ]
        );
        for (program, arg) in [
            (r"C:\Users\Jan Smit\npm\claude.cmd", "--x"),
            (
                r"C:\npm\codex.cmd",
                r#"mcp_servers.a.url="http://127.0.0.1:1/""#,
            ),
            (r"C:\npm\agent.bat", "a&calc"),
            (r"C:\npm\agent.bat", "%PATH%"),
            (r"C:\npm\agent.bat", "a|b"),
            (r"C:\npm\agent.bat", "x^"),
            (r"C:\npm\agent.bat", ""),
        ] {
            let error = pty_program(&plan(program, &[arg])).expect_err(arg);
            assert!(error.to_string().contains("batch file"), "{error}");
            // Arguments are not repeated in the message.
            assert!(!error.to_string().contains("127.0.0.1"), "{error}");
        }
    }
}
