//! Sandboxed sessions (Linux, bubblewrap): the agent runs where Keybearer's
//! secrets are out of reach, even if it is tricked into running commands.
//!
//! Hidden from the agent: Keybearer's data folder (an empty folder in its
//! place, so a nested `keybearer` finds no vault), the keychain (the session
//! bus socket, `$XDG_RUNTIME_DIR`, the keyring stores), and every process
//! outside the sandbox (its own PID namespace and `/proc`: no
//! `/proc/<keybearer>/environ` or `mem`). Kept: the whole file system
//! otherwise (its working folder, its own config and login folders, its
//! tools), the network (the session's proxy listeners on 127.0.0.1), and the
//! session's private folder with its MCP config.
//!
//! Ctrl-C: the terminal sends SIGINT (and Ctrl-\\ SIGQUIT) to the agent's
//! whole process group, bubblewrap's monitor included, which would end the
//! sandbox instead of letting the agent handle the keystroke. So the
//! monitor starts with both ignored (`env --ignore-signal`) and the agent
//! with them back at their defaults (`env --default-signal`, GNU coreutils
//! 8.31 or newer; without it Ctrl-C ends a sandboxed session). An agent that
//! dies of a signal is reported by its exit status (128 + the signal).
//!
//! Other sessions' private folders are out of sight too: they live under
//! the runtime folder or the data folder, both hidden (`private_dir`). No
//! capability survives into the sandbox, even when Keybearer runs as root.
//!
//! Limits: a session bus on an abstract socket (`unix:abstract=…`) cannot be
//! hidden without a network namespace, which would also hide the proxy:
//! `DBUS_SESSION_BUS_ADDRESS` is removed from the agent's environment, but a
//! program that guesses the address could still reach it. macOS has its own
//! (`seatbelt`), Windows none yet (docs/architecture.md, "Sessions"); the
//! checks of the folders are shared (`sandbox_folders`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::launch::LaunchPlan;
use super::sandbox_folders::{absolute, absolute_parent, folders, Folders, Spec};
use super::sandbox_layout::{self, Rule};
use keybearer_base::error::{Error, Result};

const BUS_ENV: &str = "DBUS_SESSION_BUS_ADDRESS";

/// What to say when bubblewrap is missing.
pub(crate) fn missing() -> Error {
    Error::Unsupported(
        "Sandboxed sessions need bubblewrap, which is not installed. Install it (Debian/Ubuntu: `sudo apt install bubblewrap`), or turn the sandbox off for this session (the agent could then use your keychain and Keybearer itself)."
            .into(),
    )
}

/// Finds `bwrap` on the PATH.
pub(crate) fn bwrap() -> Result<PathBuf> {
    find("bwrap").ok_or_else(missing)
}

fn find(program: &str) -> Option<PathBuf> {
    super::program::find_in_path(program.as_ref(), std::env::var_os("PATH").as_deref())
}

/// GNU `env` that can set signal dispositions (coreutils 8.31+), if any.
fn signal_env() -> Option<PathBuf> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| {
            let env = find("env")?;
            let works = std::process::Command::new(&env)
                .args(["--ignore-signal=INT", "true"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if !works {
                tracing::warn!(
                    "env cannot set signal dispositions: Ctrl-C will end sandboxed sessions"
                );
            }
            works.then_some(env)
        })
        .clone()
}

/// Turns `plan` into the same launch inside bubblewrap.
pub(crate) fn wrap(plan: &mut LaunchPlan, spec: &Spec<'_>) -> Result<()> {
    let bwrap = bwrap()?;
    let data_dir = absolute(spec.data_dir);
    let hidden = hidden_folders(&data_dir);
    let Folders {
        working_dir,
        home,
        agent_folders,
        writable,
    } = folders(spec, &data_dir, &hidden)?;
    let mut rules: Vec<(PathBuf, Rule)> = hidden
        .into_iter()
        .map(|folder| (folder, Rule::Hidden))
        .collect();
    // A private /tmp: nothing of other programs' or sessions' is seen there.
    rules.push((PathBuf::from("/tmp"), Rule::Hidden));
    if let Some(socket) = bus_socket() {
        rules.push((socket, Rule::Null));
    }
    let protected: Vec<PathBuf> =
        sandbox_layout::protected(home.as_deref(), &agent_folders, &writable)
            .iter()
            .map(|path| absolute_parent(path))
            .collect();
    let protection = sandbox_layout::protection_rules(&protected, &writable).map_err(|link| {
        Error::invalid(
            "working_dir",
            format!(
                "{} is a link, and the agent may change the folder it is in, so the sandbox cannot keep it from being replaced. Choose a working folder that does not hold it, or replace the link with the file it points to.",
                link.display()
            ),
        )
    })?;
    rules.extend(protection);
    // The agent's program must stay reachable when it lies in a hidden folder.
    let program = absolute(&plan.program);
    if program.is_absolute() && program.exists() {
        rules.push((program, Rule::ReadOnly));
    }
    rules.extend(writable.into_iter().map(|folder| (folder, Rule::Writable)));

    let mut args: Vec<OsString> = [
        "--die-with-parent",
        "--unshare-pid",
        // Run as root, bubblewrap would keep every capability: an agent
        // could then remount, or type into any terminal (TIOCSTI).
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        // A /dev of its own: the host's terminals (/dev/pts) are not there,
        // so it cannot read or write the user's other terminals.
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    for mount in sandbox_layout::mounts(rules) {
        let path = mount.path.into_os_string();
        match mount.rule {
            Rule::Hidden => args.extend(["--tmpfs".into(), path]),
            Rule::Null => args.extend(["--ro-bind".into(), "/dev/null".into(), path]),
            Rule::ReadOnly => args.extend(["--ro-bind".into(), path.clone(), path]),
            Rule::Writable => args.extend(["--bind".into(), path.clone(), path]),
        }
    }
    args.extend(["--chdir".into(), working_dir.into_os_string(), "--".into()]);
    let signals = signal_env();
    if let Some(env) = &signals {
        args.extend([
            env.clone().into_os_string(),
            "--default-signal=INT,QUIT".into(),
        ]);
    }
    args.push(plan.program.clone().into_os_string());
    if signals.is_some() {
        // The monitor, in front: bwrap with Ctrl-C and Ctrl-\ ignored.
        let mut front: Vec<OsString> =
            vec!["--ignore-signal=INT,QUIT".into(), bwrap.clone().into()];
        front.append(&mut args);
        args = front;
    }
    let mut wrapped: Vec<String> = Vec::with_capacity(args.len() + plan.args.len());
    for arg in args {
        wrapped.push(arg.into_string().map_err(|_| {
            Error::invalid(
                "working_dir",
                "A folder of this session has a name that is not valid text; the sandbox cannot use it.",
            )
        })?);
    }
    wrapped.append(&mut plan.args);
    plan.args = wrapped;
    plan.program = signals.unwrap_or(bwrap);
    plan.remove.push(BUS_ENV.into());
    // Temporary files go to the private /tmp, wherever TMPDIR pointed.
    plan.remove.push("TMPDIR".into());
    Ok(())
}

/// Folders replaced by an empty one in the sandbox (those that exist).
fn hidden_folders(data_dir: &Path) -> Vec<PathBuf> {
    let mut hidden = vec![data_dir.to_path_buf()];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        hidden.push(PathBuf::from(runtime));
    }
    // Also when the variable is not set here (su, cron, an old tmux): the
    // desktop's sessions and the keyring's socket live there all the same.
    hidden.push(PathBuf::from(format!(
        "/run/user/{}",
        nix::unistd::geteuid().as_raw()
    )));
    if let Some(data_home) = directories::BaseDirs::new().map(|dirs| dirs.data_dir().to_path_buf())
    {
        // GNOME Keyring's and KWallet's stores.
        hidden.push(data_home.join("keyrings"));
        hidden.push(data_home.join("kwalletd"));
    }
    hidden.retain(|folder| folder.is_dir());
    let mut hidden: Vec<PathBuf> = hidden.iter().map(|folder| absolute(folder)).collect();
    hidden.sort();
    hidden.dedup();
    hidden
}

/// The session bus socket when its address is a path (`unix:path=…`).
fn bus_socket() -> Option<PathBuf> {
    let address = std::env::var(BUS_ENV).ok()?;
    address.split(';').find_map(|entry| {
        let rest = entry.strip_prefix("unix:")?;
        rest.split(',')
            .find_map(|pair| pair.strip_prefix("path="))
            .map(PathBuf::from)
            .filter(|path| path.exists())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AgentKind;

    #[test]
    fn the_plan_runs_inside_bubblewrap_with_secrets_hidden() {
        let Ok(_) = bwrap() else {
            // Without bubblewrap the session is refused; see `missing`.
            assert!(missing().to_string().contains("apt install bubblewrap"));
            return;
        };
        let data = tempfile::tempdir().expect("data");
        let private = tempfile::tempdir().expect("private");
        let work = tempfile::tempdir().expect("work");
        let mut plan = LaunchPlan {
            program: PathBuf::from("/usr/bin/agent"),
            args: vec!["--flag".into()],
            env: Vec::new(),
            remove: Vec::new(),
        };
        let spec = Spec {
            data_dir: data.path(),
            private_dir: private.path(),
            working_dir: work.path(),
            agent: AgentKind::Custom,
            writable: &[],
        };
        wrap(&mut plan, &spec).expect("wrap");
        let args = plan.args.join(" ");
        assert!(
            plan.program.ends_with("bwrap") || args.contains("bwrap --die-with-parent"),
            "{args}"
        );
        assert!(args.contains("--unshare-pid"), "{args}");
        assert!(args.contains("--cap-drop ALL"), "{args}");
        assert!(
            args.contains(&format!("--tmpfs {}", data.path().display())),
            "{args}"
        );
        assert!(args.contains("--ro-bind / /"), "{args}");
        assert!(args.contains("--tmpfs /tmp"), "{args}");
        let work = absolute(work.path());
        assert!(
            args.contains(&format!("--bind {} {}", work.display(), work.display())),
            "{args}"
        );
        assert!(args.ends_with("/usr/bin/agent --flag"), "{args}");
        assert!(plan.remove.iter().any(|name| name == BUS_ENV));
    }
}
