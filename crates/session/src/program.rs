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
/// up on PATH, a path with a `/` is taken relative to the current folder.
pub(crate) fn resolve_program(agent: AgentKind, program: &str) -> Result<PathBuf> {
    if program.trim().is_empty() {
        return Err(Error::invalid(
            "program",
            "The custom command is empty. Type the program to run.",
        ));
    }
    let found = if program.contains('/') {
        let path = Path::new(program);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()?.join(path)
        };
        is_executable_file(&path).then_some(path)
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
        None if program.contains('/') => format!(
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
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
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
}
