//! What a sandboxed agent sees and may change: the rules, and the mounts
//! that make them (docs/architecture.md, "Sessions").
//!
//! Rules, each on a path:
//! - **hidden** (an empty folder in its place): Keybearer's data folder, the
//!   runtime folder, the keyring stores, and `/tmp` (the agent gets a fresh,
//!   private one);
//! - **writable**: the working folder, the session's private folder, the
//!   agent's own settings folder (`~/.claude`, `~/.codex`), and folders the
//!   user added for this session;
//! - **read-only** even inside a writable folder: files that make something
//!   run later *outside* the sandbox — shell start-up files, `~/.ssh`, git's
//!   settings and a repository's hooks, every app's MCP settings file
//!   (Keybearer's bridge entries, and the agents' own: `~/.claude.json`,
//!   `~/.codex/config.toml`, `~/.claude/settings.json` with its hooks), and
//!   Keybearer's own programs; plus the agent's program when it lies in a
//!   hidden folder (so it can start);
//! - everything else: **read-only**.
//!
//! Mounts take their source from the real file system, so a mount on a
//! path replaces whatever an earlier one showed there. Applying them from
//! the shortest path to the longest makes the most specific rule win: a
//! writable folder inside `/tmp` comes back after `/tmp` is hidden, and the
//! data folder inside a writable home is hidden again after it.
//!
//! Limits: a protected file that does not exist yet (say `~/.zshrc` for a
//! bash user) cannot be covered without creating it, so an agent whose
//! working folder holds the home folder could create it; the working folder
//! should not be the home folder. The network stays open.

use std::path::{Path, PathBuf};

use super::model::AgentKind;

/// The folders a sandboxed agent may change, as the user should be told:
/// the working folder, the agent's own settings folder, and the folders
/// added for the session (plus a private `/tmp`, which is not listed).
pub fn writable_folders(agent: AgentKind, working_dir: &Path, extra: &[PathBuf]) -> Vec<PathBuf> {
    let home = home();
    let mut folders = vec![working_dir.to_path_buf()];
    folders.extend(agent_folders(agent, home.as_deref()));
    folders.extend(extra.iter().cloned());
    folders.dedup();
    folders
}

pub(crate) fn home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf())
}

/// What the sandbox does at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rule {
    /// The agent may change it.
    Writable,
    /// Shown as it is, read-only (even inside a writable folder).
    ReadOnly,
    /// `/dev/null` in its place (a socket that must not be reached).
    Null,
    /// An empty folder in its place.
    Hidden,
}

/// One mount, in the order bubblewrap must make them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) path: PathBuf,
    pub(crate) rule: Rule,
}

/// The mounts for `rules`: one per path (the strongest rule wins:
/// hidden, then null, then read-only, then writable), shortest paths first.
pub(crate) fn mounts(mut rules: Vec<(PathBuf, Rule)>) -> Vec<Mount> {
    rules.sort_by(|(a, rule_a), (b, rule_b)| {
        depth(a)
            .cmp(&depth(b))
            .then_with(|| a.cmp(b))
            .then_with(|| rule_b.cmp(rule_a))
    });
    rules.dedup_by(|later, kept| later.0 == kept.0);
    rules
        .into_iter()
        .map(|(path, rule)| Mount { path, rule })
        .collect()
}

fn depth(path: &Path) -> usize {
    path.components().count()
}

/// Files and folders in the home folder that make something run outside the
/// sandbox later: shell and desktop start-up files, login and git settings,
/// user programs on the PATH, package managers' settings.
const HOME_PROTECTED: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".xprofile",
    ".xsessionrc",
    ".xinitrc",
    ".pam_environment",
    ".inputrc",
    ".ssh",
    ".gnupg",
    ".gitconfig",
    ".config/git",
    ".config/fish",
    ".config/autostart",
    ".config/systemd",
    ".config/environment.d",
    ".local/bin",
    ".local/share/applications",
    "bin",
    ".npmrc",
    ".pypirc",
    ".cargo/config.toml",
    ".cargo/bin",
    ".docker",
    ".kube",
    ".aws",
    ".netrc",
    // Claude Code's settings run commands (hooks, status line, key helper).
    ".claude/settings.json",
    ".claude/settings.local.json",
];

/// Inside a writable folder: a repository's hooks and settings run when
/// the user next uses git there.
const FOLDER_PROTECTED: &[&str] = &[".git/hooks", ".git/config"];

/// The protected paths that exist, for a home folder and the writable
/// folders, plus the apps' settings files and Keybearer's programs.
pub(crate) fn protected(home: Option<&Path>, writable: &[PathBuf]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(home) = home {
        found.extend(HOME_PROTECTED.iter().map(|name| home.join(name)));
    }
    for folder in writable {
        found.extend(FOLDER_PROTECTED.iter().map(|name| folder.join(name)));
    }
    if let Some(locations) = app_configs::Locations::from_env() {
        let os = app_configs::Os::current();
        for app in app_configs::App::ALL {
            found.extend(app_configs::config_paths(app, os, &locations));
        }
    }
    if let Ok(me) = std::env::current_exe() {
        found.push(me);
    }
    if let Ok(bridge) = crate::bridge::program() {
        found.push(bridge);
    }
    found.retain(|path| std::fs::symlink_metadata(path).is_ok());
    found
}

/// The agent's own settings folders, which it may change (made if missing,
/// so they can be mounted): Claude Code's and Codex's, where their
/// variables put them.
pub(crate) fn agent_folders(agent: AgentKind, home: Option<&Path>) -> Vec<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    match agent {
        AgentKind::Claude => var("CLAUDE_CONFIG_DIR").or_else(|| home.map(|h| h.join(".claude"))),
        AgentKind::Codex => var("CODEX_HOME").or_else(|| home.map(|h| h.join(".codex"))),
        AgentKind::Custom => None,
    }
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> PathBuf {
        PathBuf::from(path)
    }

    #[test]
    fn shorter_paths_first_and_the_strongest_rule_wins_a_path() {
        let layout = mounts(vec![
            (p("/tmp/home/data"), Rule::Hidden),
            (p("/tmp/home"), Rule::Writable),
            (p("/tmp"), Rule::Hidden),
            (p("/tmp/home/.bashrc"), Rule::ReadOnly),
            (p("/tmp/home/data/run/sesn"), Rule::Writable),
            (p("/tmp/home"), Rule::ReadOnly),
            (p("/run/bus"), Rule::Null),
        ]);
        let order: Vec<(&str, Rule)> = layout
            .iter()
            .map(|mount| (mount.path.to_str().expect("text"), mount.rule))
            .collect();
        assert_eq!(
            order,
            [
                ("/tmp", Rule::Hidden),
                ("/run/bus", Rule::Null),
                ("/tmp/home", Rule::ReadOnly),
                ("/tmp/home/.bashrc", Rule::ReadOnly),
                ("/tmp/home/data", Rule::Hidden),
                ("/tmp/home/data/run/sesn", Rule::Writable),
            ]
        );
    }

    #[test]
    fn protected_paths_are_those_that_exist() {
        let home = tempfile::tempdir().expect("home");
        std::fs::write(home.path().join(".bashrc"), "").expect("bashrc");
        let work = home.path().join("work");
        std::fs::create_dir_all(work.join(".git/hooks")).expect("hooks");
        let found = protected(Some(home.path()), std::slice::from_ref(&work));
        assert!(found.contains(&home.path().join(".bashrc")));
        assert!(found.contains(&work.join(".git/hooks")));
        assert!(!found.contains(&home.path().join(".zshrc")));
    }
}
