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
//! data folder inside a writable home is hidden again after it. Every
//! folder between a writable folder and a protected path inside it is a
//! mount point too, so it cannot be renamed (`mv .git .g` and a new `.git`
//! with hooks of the agent's own fails with "Device or resource busy").
//! The agent's own protected settings are made (empty) when missing, so
//! they can be covered; a protected path that is a link inside a writable
//! folder is refused (the link itself could be replaced).
//!
//! Limits: other protected files that do not exist yet (say `~/.zshrc` for
//! a bash user) cannot be covered without creating them, so an agent whose
//! working folder holds the home folder could create them; the working
//! folder should not be the home folder. The network stays open.

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
    /// `/dev/null` in its place (a socket that must not be reached; Linux's
    /// session bus).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
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
/// user programs on the PATH, package managers' settings, macOS's login
/// programs and preferences.
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
    // macOS: programs started at login, and other programs' settings (a
    // terminal's start-up command).
    "Library/LaunchAgents",
    "Library/Preferences",
];

/// Inside an agent's own settings folder: what makes something run when the
/// user next starts that agent *outside* the sandbox. Claude Code's settings
/// run commands (hooks, status line, key helper), its hooks and plugins are
/// programs, and a local install of it lives in `local`; Codex's
/// `config.toml` starts MCP servers and a `notify` command.
const AGENT_PROTECTED: &[&str] = &[
    "settings.json",
    "settings.local.json",
    "hooks",
    "plugins",
    "local",
    "config.toml",
];

/// Files of [`AGENT_PROTECTED`] made (empty, valid) when missing, so they
/// can be covered: a missing one could otherwise be created by the agent.
const AGENT_PLACEHOLDERS: &[(AgentKind, &str, &str)] = &[
    (AgentKind::Claude, "settings.json", "{}\n"),
    (AgentKind::Codex, "config.toml", ""),
];

/// Inside a writable folder: a repository's hooks and settings run when
/// the user next uses git there.
const FOLDER_PROTECTED: &[&str] = &[".git/hooks", ".git/config"];

/// The protected paths that exist (links included, dangling or not), for a
/// home folder, the agent's own folders and the writable folders, plus the
/// apps' settings files and Keybearer's programs.
pub(crate) fn protected(
    home: Option<&Path>,
    agent_folders: &[PathBuf],
    writable: &[PathBuf],
) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(home) = home {
        found.extend(HOME_PROTECTED.iter().map(|name| home.join(name)));
    }
    for folder in agent_folders {
        found.extend(AGENT_PROTECTED.iter().map(|name| folder.join(name)));
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
    if let Ok(bridge) = keybearer_bridge::program() {
        found.push(bridge);
    }
    found.retain(|path| std::fs::symlink_metadata(path).is_ok());
    found
}

/// Makes the agent's folder and the placeholders of its protected files
/// that are missing (see [`AGENT_PLACEHOLDERS`]); never replaces a file.
pub(crate) fn prepare_agent_folder(agent: AgentKind, folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    for (kind, name, contents) in AGENT_PLACEHOLDERS {
        if *kind != agent {
            continue;
        }
        let path = folder.join(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut file) => std::io::Write::write_all(&mut file, contents.as_bytes())?,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The read-only rules for the `protected` paths that lie inside a writable
/// folder (elsewhere everything is read-only already), and a writable rule
/// on every folder between that writable folder and each of them: a mount
/// point cannot be renamed, so the agent cannot move `.git` aside and make
/// a new one with hooks of its own. A protected path that is a link inside
/// a writable folder cannot be covered (a mount lands on its target, and
/// the link itself could be replaced): refused, saying which.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn protection_rules(
    protected: &[PathBuf],
    writable: &[PathBuf],
) -> Result<Vec<(PathBuf, Rule)>, PathBuf> {
    let mut rules = Vec::new();
    for path in protected {
        let Some(root) = writable
            .iter()
            .filter(|folder| path.starts_with(folder) && path != *folder)
            .max_by_key(|folder| depth(folder))
        else {
            continue;
        };
        let is_link =
            std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink());
        if is_link {
            return Err(path.clone());
        }
        rules.push((path.clone(), Rule::ReadOnly));
        let mut between = path.parent();
        while let Some(folder) = between {
            if folder == root.as_path() || !folder.starts_with(root) {
                break;
            }
            rules.push((folder.to_path_buf(), Rule::Writable));
            between = folder.parent();
        }
    }
    Ok(rules)
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
    fn protected_paths_inside_a_writable_folder_pin_the_folders_above_them() {
        let rules = protection_rules(
            &[
                p("/w/.git/hooks"),
                p("/w/.git/config"),
                p("/elsewhere/.bashrc"),
            ],
            &[p("/w")],
        )
        .expect("no links");
        assert_eq!(
            rules,
            [
                (p("/w/.git/hooks"), Rule::ReadOnly),
                (p("/w/.git"), Rule::Writable),
                (p("/w/.git/config"), Rule::ReadOnly),
                (p("/w/.git"), Rule::Writable),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_protected_link_inside_a_writable_folder_is_refused() {
        let work = tempfile::tempdir().expect("work");
        std::os::unix::fs::symlink("/nowhere", work.path().join(".bashrc")).expect("link");
        let refused =
            protection_rules(&[work.path().join(".bashrc")], &[work.path().to_path_buf()])
                .expect_err("a link");
        assert_eq!(refused, work.path().join(".bashrc"));
    }

    #[test]
    fn placeholders_are_made_only_where_missing() {
        let folder = tempfile::tempdir().expect("folder");
        let claude = folder.path().join("claude");
        prepare_agent_folder(AgentKind::Claude, &claude).expect("prepare");
        assert_eq!(
            std::fs::read_to_string(claude.join("settings.json")).expect("made"),
            "{}\n"
        );
        std::fs::write(claude.join("settings.json"), "{\"theme\":\"dark\"}").expect("yours");
        prepare_agent_folder(AgentKind::Claude, &claude).expect("again");
        assert_eq!(
            std::fs::read_to_string(claude.join("settings.json")).expect("kept"),
            "{\"theme\":\"dark\"}"
        );
    }

    #[test]
    fn protected_paths_are_those_that_exist() {
        let home = tempfile::tempdir().expect("home");
        std::fs::write(home.path().join(".bashrc"), "").expect("bashrc");
        let work = home.path().join("work");
        std::fs::create_dir_all(work.join(".git/hooks")).expect("hooks");
        let found = protected(Some(home.path()), &[], std::slice::from_ref(&work));
        assert!(found.contains(&home.path().join(".bashrc")));
        assert!(found.contains(&work.join(".git/hooks")));
        assert!(!found.contains(&home.path().join(".zshrc")));
    }
}
