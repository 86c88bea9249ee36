//! What a session is (docs/architecture.md, "Sessions"): an agent process plus the
//! credentials of its linked vaults. None of these types can hold a token.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use keybearer_base::error::{Error, Result};
use keybearer_base::model::Timestamp;

/// Which agent a session runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "preset", rename_all = "snake_case")]
pub enum Agent {
    /// Claude Code: `claude --mcp-config <file> ARGS…`.
    Claude { args: Vec<String> },
    /// Codex CLI: `codex -c mcp_servers.… ARGS…`.
    Codex { args: Vec<String> },
    /// Any program. `{mcp_config}` in its arguments becomes the path of the
    /// generated `mcpServers` JSON, which is also in `KEYBEARER_MCP_CONFIG`.
    Custom { program: String, args: Vec<String> },
}

impl Agent {
    pub fn kind(&self) -> AgentKind {
        match self {
            Self::Claude { .. } => AgentKind::Claude,
            Self::Codex { .. } => AgentKind::Codex,
            Self::Custom { .. } => AgentKind::Custom,
        }
    }

    /// The command that is looked up on PATH.
    pub fn program(&self) -> &str {
        match self {
            Self::Claude { .. } => "claude",
            Self::Codex { .. } => "codex",
            Self::Custom { program, .. } => program,
        }
    }

    pub fn args(&self) -> &[String] {
        match self {
            Self::Claude { args } | Self::Codex { args } | Self::Custom { args, .. } => args,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    Claude,
    Codex,
    Custom,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Claude => "claude",
            Self::Codex => "codex",
            Self::Custom => "custom",
        }
    }

    /// The name people know the agent by.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Claude => "Claude Code",
            Self::Codex => "Codex CLI",
            Self::Custom => "Custom command",
        }
    }
}

impl FromStr for AgentKind {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "claude" | "claude-code" => Ok(Self::Claude),
            "codex" => Ok(Self::Codex),
            "custom" => Ok(Self::Custom),
            _ => Err(Error::invalid(
                "agent",
                format!("Unknown agent \"{value}\". Choose claude, codex or custom."),
            )),
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the agent reaches its MCP servers.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectionMode {
    /// Through loopback listeners that add the token: the agent never sees it.
    #[default]
    Proxy,
    /// The token goes into the agent's MCP config or environment.
    Direct,
}

impl InjectionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::Direct => "direct",
        }
    }
}

/// starting → running → exited(code) | failed(reason) | stopped.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SessionState {
    Starting,
    Running,
    /// The agent ended by itself with this exit code.
    Exited {
        code: i32,
    },
    /// The agent could not start, was killed by a signal nobody sent through
    /// Keybearer (a crash), or was lost.
    Failed {
        reason: String,
    },
    /// Ended by Stop (or by Keybearer shutting down).
    Stopped,
}

impl SessionState {
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Starting | Self::Running)
    }

    pub fn status(&self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Exited { .. } => "exited",
            Self::Failed { .. } => "failed",
            Self::Stopped => "stopped",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exited ({code})"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.write_str(other.status()),
        }
    }
}

/// A session as recorded: what ran, where, with which vaults, and how it ended.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: String,
    /// Linked vaults in precedence order (the first one wins a shared URL).
    pub vault_ids: Vec<String>,
    pub environment: String,
    pub agent: AgentKind,
    /// The program that ran (absolute path once resolved).
    pub program: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub working_dir: PathBuf,
    pub injection: InjectionMode,
    #[serde(flatten)]
    pub state: SessionState,
    /// The agent's process id; it leads its own process group.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub pid: Option<u32>,
    /// The signal that ended the agent, when one did.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub signal: Option<i32>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

impl Session {
    /// The exit status a shell would report for the agent: its code, or
    /// 128 + the signal that ended it, or 1 when it never ran.
    pub fn shell_exit_code(&self) -> i32 {
        match (&self.state, self.signal) {
            (SessionState::Exited { code }, _) => *code,
            (_, Some(signal)) => 128 + signal,
            _ => 1,
        }
    }
}

pub(crate) fn new_session_id() -> String {
    format!("sesn_{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_prefixed_uuid_v7() {
        let id = new_session_id();
        let uuid = id.strip_prefix("sesn_").expect("prefix");
        let parsed = uuid::Uuid::parse_str(uuid).expect("uuid");
        assert_eq!(parsed.get_version_num(), 7);
        assert!(new_session_id() > id);
    }

    #[test]
    fn agent_kinds_parse() {
        assert_eq!(
            "Claude".parse::<AgentKind>().expect("ok"),
            AgentKind::Claude
        );
        assert!("gpt".parse::<AgentKind>().is_err());
    }
}
