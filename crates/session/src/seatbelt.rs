//! Sandboxed sessions on macOS (Seatbelt, `/usr/bin/sandbox-exec`): the
//! same protections as Linux's bubblewrap (`sandbox`), by the system's own
//! means (docs/architecture.md, "Sessions"). **Never run on a Mac**: this
//! is compile-checked only, and its profile is tested as text on Linux
//! (`seatbelt_profile`).
//!
//! The flow: the folders are checked as on Linux (`sandbox_folders`); the
//! hidden ones are Keybearer's data folder (where the sessions' private
//! folders live too, as `$XDG_RUNTIME_DIR` is not set on macOS; it is
//! hidden when it is), the keychain's files (`~/Library/Keychains`), and,
//! for Linux's private `/tmp`, `/private/tmp` and the user's own temporary
//! folder (`/private/var/folders/…/T`); the agent's temporary files go to
//! `tmp` in the session's private folder instead (`TMPDIR`). Protected
//! paths are covered both as the link they may be and as what it points
//! to, so a link is no reason to refuse a session here. The profile is
//! passed inline (`sandbox-exec -p PROFILE -- AGENT ARGS…`; it names
//! folders, never a secret), and `sandbox-exec` becomes the agent: no
//! monitor process stands between the terminal and the agent, so Ctrl-C
//! reaches it as usual.
//!
//! Limits: Keybearer run as root leaves the agent root (Seatbelt's rules
//! still hold); the user's other terminals (`/dev/ttys…`) can be written to,
//! though macOS lets a program type only into its own terminal; an agent
//! that keeps its own sign-in in the keychain (Claude Code does on macOS)
//! cannot read it inside the sandbox. Apple calls `sandbox-exec`
//! deprecated; it is what macOS ships.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::launch::LaunchPlan;
use super::sandbox_folders::{absolute, absolute_parent, folders, Folders, Spec};
use super::sandbox_layout::{self, Rule};
use super::seatbelt_profile::{self, SANDBOX_EXEC};
use keybearer_base::error::{Error, Result};

/// What to say when `sandbox-exec` is missing.
pub(crate) fn missing() -> Error {
    Error::Unsupported(format!(
        "Sandboxed sessions need {SANDBOX_EXEC}, which is part of macOS but was not found. Turn the sandbox off for this session (the agent could then use your keychain and Keybearer itself)."
    ))
}

/// Whether `sandbox-exec` is there.
pub(crate) fn check() -> Result<()> {
    if Path::new(SANDBOX_EXEC).is_file() {
        Ok(())
    } else {
        Err(missing())
    }
}

/// Turns `plan` into the same launch under Seatbelt.
pub(crate) fn wrap(plan: &mut LaunchPlan, spec: &Spec<'_>) -> Result<()> {
    check()?;
    let data_dir = absolute(spec.data_dir);
    let hidden = hidden_folders(&data_dir);
    let Folders {
        working_dir,
        home,
        agent_folders,
        writable,
    } = folders(spec, &data_dir, &hidden)?;
    tracing::debug!(working_dir = %working_dir.display(), "the agent runs under Seatbelt");
    let temp = private_temp(spec.private_dir)?;
    let mut rules: Vec<(PathBuf, Rule)> = hidden
        .into_iter()
        .chain(temp_folders())
        .map(|folder| (folder, Rule::Hidden))
        .collect();
    // Linux's own /dev is writable; here the real one is.
    rules.push((PathBuf::from("/dev"), Rule::Writable));
    let protected: Vec<PathBuf> =
        sandbox_layout::protected(home.as_deref(), &agent_folders, &writable)
            .iter()
            .flat_map(|path| [absolute_parent(path), absolute(path)])
            .collect();
    rules.extend(seatbelt_profile::protection(&protected, &writable));
    // The agent's program must stay readable when it lies in a hidden folder.
    let program = absolute(&plan.program);
    if program.is_absolute() && program.exists() {
        rules.push((program, Rule::ReadOnly));
    }
    rules.extend(writable.into_iter().map(|folder| (folder, Rule::Writable)));
    let profile = seatbelt_profile::profile(rules).map_err(unusable)?;
    let args = std::mem::take(&mut plan.args);
    plan.args = seatbelt_profile::arguments(profile, &plan.program, args).map_err(unusable)?;
    plan.program = PathBuf::from(SANDBOX_EXEC);
    let temp = temp
        .into_os_string()
        .into_string()
        .map_err(|path| unusable(path.into()))?;
    plan.env.push(("TMPDIR".into(), Zeroizing::new(temp)));
    Ok(())
}

fn unusable(path: PathBuf) -> Error {
    Error::invalid(
        "working_dir",
        format!(
            "The sandbox cannot name {} (a line break or other control character, a name that is not valid text, or a path too long): rename it, or choose another folder.",
            path.display()
        ),
    )
}

/// `tmp` in the session's private folder (0700), the agent's `TMPDIR`.
fn private_temp(private_dir: &Path) -> Result<PathBuf> {
    let temp = private_dir.join("tmp");
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(&temp) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error.into()),
    }
    Ok(absolute(&temp))
}

/// Folders the agent may not read, write or change inside: the data
/// folder, the runtime folder if one is set, the keychain's files.
fn hidden_folders(data_dir: &Path) -> Vec<PathBuf> {
    let mut hidden = vec![data_dir.to_path_buf()];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        hidden.push(PathBuf::from(runtime));
    }
    if let Some(home) = sandbox_layout::home() {
        hidden.push(home.join("Library").join("Keychains"));
    }
    hidden.retain(|folder| folder.is_dir());
    let mut hidden: Vec<PathBuf> = hidden.iter().map(|folder| absolute(folder)).collect();
    hidden.sort();
    hidden.dedup();
    hidden
}

/// Where other programs keep temporary files (Linux's `/tmp`): hidden, but
/// a working folder inside them still works, as on Linux.
fn temp_folders() -> Vec<PathBuf> {
    let mut folders = vec![absolute(Path::new("/tmp"))];
    let user_temp = absolute(&std::env::temp_dir());
    // Only the user's own folder of the system's (`/private/var/folders/xy/
    // abc…/T`): TMPDIR could point anywhere.
    if user_temp.starts_with("/private/var/folders") && user_temp.components().count() >= 7 {
        folders.push(user_temp);
    }
    folders.retain(|folder| folder.is_dir() && folder.parent().is_some());
    folders
}
