//! Finding an agent's program on PATH before anything is started, so a
//! missing agent is a clear message instead of a failed spawn, and telling
//! the UI's agent picker which presets are installed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::AgentKind;
use keybearer_base::error::{Error, Result};

/// Whether a preset agent is installed, for the agent picker.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresetAvailability {
    pub agent: AgentKind,
    pub display_name: &'static str,
    pub command: &'static str,
    /// Where the command was found; `None` when it is not installed.
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub path: Option<PathBuf>,
    pub install_hint: &'static str,
}

const PRESETS: [(AgentKind, &str, &str); 2] = [
    (
        AgentKind::Claude,
        "claude",
        "Install it from https://docs.anthropic.com/en/docs/claude-code (npm install -g @anthropic-ai/claude-code)",
    ),
    (
        AgentKind::Codex,
        "codex",
        "Install it from https://github.com/openai/codex (npm install -g @openai/codex)",
    ),
];

/// Reports which of `claude` and `codex` are on PATH.
pub fn detect_presets() -> Vec<PresetAvailability> {
    let path = std::env::var_os("PATH");
    PRESETS
        .iter()
        .map(|(agent, command, hint)| PresetAvailability {
            agent: *agent,
            display_name: agent.display_name(),
            command,
            path: find_in_path(OsStr::new(command), path.as_deref()),
            install_hint: hint,
        })
        .collect()
}

/// Resolves the program an agent runs to an absolute path: a name is looked
/// up on PATH, a path with a `/` (on Windows also `\` or a drive's `:`) is
/// taken relative to the current folder. On Windows a name without one of
/// `PATHEXT`'s extensions is tried with each of them, in order (`claude` →
/// `claude.exe`, `claude.cmd`, …), as the command prompt does.
pub(crate) fn resolve_program(agent: AgentKind, program: &str) -> Result<PathBuf> {
    if program.trim().is_empty() {
        return Err(Error::invalid(
            "program",
            "The custom command is empty. Type the program to run.",
        ));
    }
    let found = if is_path(program) {
        let path = Path::new(program);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()?.join(path)
        };
        candidates(&path)
            .into_iter()
            .find(|path| is_executable_file(path))
    } else {
        find_in_path(OsStr::new(program), std::env::var_os("PATH").as_deref())
    };
    found.ok_or_else(|| not_installed(agent, program))
}

fn not_installed(agent: AgentKind, program: &str) -> Error {
    let message = match PRESETS.iter().find(|(kind, _, _)| *kind == agent) {
        Some((_, command, hint)) => format!(
            "{} is not installed: the `{command}` command was not found on PATH. {hint}, or choose another agent.",
            agent.display_name()
        ),
        None if is_path(program) => format!(
            "The program `{program}` does not exist or is not executable. Check the path, or choose another agent."
        ),
        None => format!(
            "The program `{program}` was not found on PATH. Check its name or give its full path, or choose another agent."
        ),
    };
    Error::AgentNotFound(message)
}

pub(crate) fn find_in_path(program: &OsStr, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .flat_map(|dir| candidates(&dir.join(program)))
        .find(|candidate| is_executable_file(candidate))
}

/// Whether a command names a file rather than a program on PATH.
fn is_path(program: &str) -> bool {
    program.contains('/') || (cfg!(windows) && (program.contains('\\') || program.contains(':')))
}

/// The files a command may name: itself on Unix; on Windows itself when it
/// has an extension `PATHEXT` lists, else itself with each of those.
fn candidates(path: &Path) -> Vec<PathBuf> {
    #[cfg(windows)]
    {
        let extensions = windows_extensions();
        let listed = path
            .extension()
            .and_then(|extension| extension.to_str())
            .is_some_and(|extension| {
                extensions
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(extension))
            });
        if listed {
            return vec![path.to_path_buf()];
        }
        extensions
            .iter()
            .map(|extension| {
                let mut name = path.as_os_str().to_os_string();
                name.push(".");
                name.push(extension);
                PathBuf::from(name)
            })
            .collect()
    }
    #[cfg(not(windows))]
    {
        vec![path.to_path_buf()]
    }
}

/// `PATHEXT`'s extensions without their dots (`.COM;.EXE;.BAT;.CMD` when unset).
#[cfg(windows)]
fn windows_extensions() -> Vec<String> {
    let listed = std::env::var("PATHEXT").unwrap_or_default();
    let listed = if listed.trim().is_empty() {
        ".COM;.EXE;.BAT;.CMD".to_string()
    } else {
        listed
    };
    listed
        .split(';')
        .map(|extension| extension.trim().trim_start_matches('.').to_string())
        .filter(|extension| !extension.is_empty())
        .collect()
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn finds_programs_and_explains_missing_ones() {
        let sh = resolve_program(AgentKind::Custom, "sh").expect("sh is on PATH");
        assert!(sh.is_absolute());
        let error = resolve_program(AgentKind::Claude, "claude-definitely-missing").err();
        // The preset message names the agent even if the lookup used another name.
        let error = error.expect("missing");
        assert_eq!(error.code(), "agent_not_found");
        assert!(error.to_string().contains("Claude Code is not installed"));
        let error = resolve_program(AgentKind::Custom, "./no/such/tool").expect_err("missing");
        assert!(error.to_string().contains("does not exist"));
        assert!(resolve_program(AgentKind::Custom, " ").is_err());
        assert_eq!(detect_presets().len(), 2);
    }

    /// Windows: `claude` is found as `claude.cmd` (npm's) or `claude.exe`,
    /// in PATHEXT's order within a folder and PATH's order across folders;
    /// a path with `\` is a path.
    #[cfg(windows)]
    #[test]
    fn windows_finds_programs_by_their_extensions() {
        let first = tempfile::tempdir().expect("tempdir");
        let second = tempfile::tempdir().expect("tempdir");
        std::fs::write(first.path().join("claude.cmd"), "@echo off\r\n").expect("cmd");
        std::fs::write(first.path().join("claude.txt"), "not a program").expect("txt");
        std::fs::write(second.path().join("claude.exe"), "MZ").expect("exe");
        std::fs::write(second.path().join("codex.exe"), "MZ").expect("exe");
        let path = std::env::join_paths([first.path(), second.path()]).expect("PATH");
        let found = |name: &str| find_in_path(OsStr::new(name), Some(&path));
        assert_eq!(found("claude"), Some(first.path().join("claude.cmd")));
        assert_eq!(found("claude.exe"), Some(second.path().join("claude.exe")));
        assert_eq!(found("codex"), Some(second.path().join("codex.exe")));
        assert_eq!(found("claude.txt"), None, "not a program by PATHEXT");
        assert_eq!(found("gemini"), None);
        let explicit = second.path().join("codex");
        let explicit = explicit.to_str().expect("text");
        assert!(is_path(explicit));
        assert_eq!(
            resolve_program(AgentKind::Custom, explicit).expect("by path"),
            second.path().join("codex.exe")
        );
        let error =
            resolve_program(AgentKind::Codex, "codex-definitely-missing").expect_err("missing");
        assert!(error.to_string().contains("Codex"), "{error}");
    }
}
