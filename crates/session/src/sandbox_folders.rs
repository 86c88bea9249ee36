//! The folders of one sandboxed session, checked the same way on every
//! system that has a sandbox (docs/architecture.md, "Sessions"), before
//! Linux (`sandbox`, bubblewrap) or macOS (`seatbelt`, Seatbelt) turns them
//! into rules of its own.
//!
//! The flow: the caller says which folders it hides (Keybearer's data
//! folder always, plus the keychain's and the runtime folder of that
//! system); [`folders`] makes every path absolute and link-free, prepares
//! the agent's own settings folder, and refuses what would undo the
//! sandbox: a working folder inside the data folder, a folder to change
//! that does not exist, is `/`, or lies inside a hidden folder.
//!
//! Limits: the temporary folders (`/tmp`, and macOS's own) are hidden by
//! each system separately and are not refused here, so a working folder in
//! them still works (its rule is the more specific one).

use std::path::{Path, PathBuf};

use super::model::AgentKind;
use super::sandbox_layout;
use keybearer_base::error::{Error, Result};

/// What one sandbox is made of.
pub(crate) struct Spec<'a> {
    /// Keybearer's data folder (hidden).
    pub(crate) data_dir: &'a Path,
    /// The session's private folder (writable, its MCP config).
    pub(crate) private_dir: &'a Path,
    pub(crate) working_dir: &'a Path,
    pub(crate) agent: AgentKind,
    /// Folders the user let this session's agent change too.
    pub(crate) writable: &'a [PathBuf],
}

/// A session's folders, absolute and checked.
pub(crate) struct Folders {
    pub(crate) working_dir: PathBuf,
    pub(crate) home: Option<PathBuf>,
    /// The agent's own settings folders (`~/.claude`, `~/.codex`).
    pub(crate) agent_folders: Vec<PathBuf>,
    /// Everything the agent may change: the working folder, the private
    /// folder, the folders the user added, the agent's own folders.
    pub(crate) writable: Vec<PathBuf>,
}

/// Checks `spec` against `data_dir` (absolute) and the other `hidden`
/// folders, and makes the agent's settings folder if missing (its first
/// run), with placeholders for the settings that must stay read-only.
pub(crate) fn folders(spec: &Spec<'_>, data_dir: &Path, hidden: &[PathBuf]) -> Result<Folders> {
    let working_dir = absolute(spec.working_dir);
    // An agent working inside Keybearer's data folder would work in a
    // folder it cannot see, or worse; refuse it plainly.
    if working_dir.starts_with(data_dir) {
        return Err(Error::invalid(
            "working_dir",
            "The agent's working folder is inside Keybearer's data folder. Choose another folder.",
        ));
    }
    let home = sandbox_layout::home().map(|home| absolute(&home));
    let mut writable = vec![working_dir.clone(), absolute(spec.private_dir)];
    let mut agent_folders = Vec::new();
    for folder in sandbox_layout::agent_folders(spec.agent, home.as_deref()) {
        if let Err(error) = sandbox_layout::prepare_agent_folder(spec.agent, &folder) {
            tracing::warn!(%error, "could not prepare the agent's settings folder");
        }
        agent_folders.push(absolute(&folder));
    }
    for folder in spec.writable {
        if !folder.is_dir() {
            return Err(Error::invalid(
                "writable",
                format!(
                    "The folder {} that the agent may change does not exist. Create it or remove it from the list.",
                    folder.display()
                ),
            ));
        }
        writable.push(absolute(folder));
    }
    // The session's own private folder lies in a hidden folder on purpose.
    for folder in writable
        .iter()
        .skip(2)
        .chain([&working_dir])
        .chain(&agent_folders)
    {
        check_writable(folder, data_dir, hidden)?;
    }
    writable.extend(agent_folders.iter().cloned());
    Ok(Folders {
        working_dir,
        home,
        agent_folders,
        writable,
    })
}

/// Refuses a folder the agent may change that would undo the sandbox: the
/// root (on Linux it would bring the host's /proc and /dev back; on macOS
/// it would open every file), one inside Keybearer's data folder or any
/// other hidden folder (the runtime folder, the keychain's stores).
fn check_writable(folder: &Path, data_dir: &Path, hidden: &[PathBuf]) -> Result<()> {
    if folder.parent().is_none() {
        return Err(Error::invalid(
            "writable",
            "The agent may not change the whole file system (/). Choose a folder inside it.",
        ));
    }
    if folder.starts_with(data_dir) {
        return Err(Error::invalid(
            "writable",
            format!(
                "The agent may not change {}, which is inside Keybearer's data folder. Choose another folder.",
                folder.display()
            ),
        ));
    }
    if let Some(inside) = hidden.iter().find(|hidden| folder.starts_with(hidden)) {
        return Err(Error::invalid(
            "writable",
            format!(
                "The agent may not change {}: it is inside {}, which holds your keychain or Keybearer's running sessions. Choose another folder.",
                folder.display(),
                inside.display()
            ),
        ));
    }
    Ok(())
}

/// `path` with its folder made absolute and without links, the last part
/// kept as it is (so a link there stays a link).
pub(crate) fn absolute_parent(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => absolute(parent).join(name),
        _ => absolute(path),
    }
}

/// `path` made absolute and without links (as bubblewrap's mounts and
/// Seatbelt's path rules need: macOS matches `/private/tmp`, never `/tmp`).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|current| current.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_inside_hidden_ones_or_the_root_are_refused() {
        let data = tempfile::tempdir().expect("data");
        let hidden = tempfile::tempdir().expect("hidden");
        let work = tempfile::tempdir().expect("work");
        let private = data.path().join("run");
        std::fs::create_dir(&private).expect("private");
        let data_dir = absolute(data.path());
        let hidden_dirs = [absolute(hidden.path())];
        let check = |writable: &[PathBuf], working: &Path| {
            let spec = Spec {
                data_dir: data.path(),
                private_dir: &private,
                working_dir: working,
                agent: AgentKind::Custom,
                writable,
            };
            folders(&spec, &data_dir, &hidden_dirs).map(|folders| folders.writable)
        };
        let writable = check(&[], work.path()).expect("plain");
        assert_eq!(writable, [absolute(work.path()), absolute(&private)]);
        for refused in [
            PathBuf::from("/"),
            hidden.path().to_path_buf(),
            private.clone(),
        ] {
            let error = check(std::slice::from_ref(&refused), work.path()).expect_err("refused");
            assert!(error.to_string().contains("may not change"), "{error}");
        }
        let error = check(&[], &private).expect_err("inside the data folder");
        assert!(error.to_string().contains("data folder"), "{error}");
        let error = check(&[work.path().join("missing")], work.path()).expect_err("missing");
        assert!(error.to_string().contains("does not exist"), "{error}");
    }
}
