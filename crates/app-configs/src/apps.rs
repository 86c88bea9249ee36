//! The apps Keybearer can connect, with what is fixed about each one: a stable
//! id, the name people know it by, the file format, the key that holds its
//! MCP servers and the shape of a stdio entry.
//!
//! Each app's facts were checked against its own documentation (or, where the
//! docs are silent, its source); the source is named in a comment per app.
//! Where the file lives is in `locations.rs`. Limits: only user-level (global)
//! settings are covered, never project files such as `.vscode/mcp.json`.

use std::fmt;
use std::str::FromStr;

/// An app whose MCP settings Keybearer can read and edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum App {
    /// Anthropic's desktop app. Source: modelcontextprotocol.io "Connect to
    /// local MCP servers" and Anthropic's help centre: `claude_desktop_config.json`,
    /// key `mcpServers`, entries `{command, args, env}`; the file takes stdio
    /// servers only (remote ones are added as Connectors in the app).
    ClaudeDesktop,
    /// Claude Code, user scope. Source: code.claude.com/docs/en/mcp (scopes):
    /// `~/.claude.json`, top-level `mcpServers`, entries
    /// `{"type":"stdio","command","args","env"}`; remote `{"type":"http"|"sse","url","headers"}`.
    ClaudeCode,
    /// Source: docs.cursor.com/context/mcp: `~/.cursor/mcp.json`, key
    /// `mcpServers`, stdio `{command, args, env}`, remote `{url, headers}`.
    Cursor,
    /// Source: code.visualstudio.com/docs/copilot/reference/mcp-configuration:
    /// user-profile `mcp.json`, key `servers`, stdio `{"type":"stdio",command,args,env}`,
    /// remote `{"type":"http"|"sse",url,headers}`; JSONC; also holds `inputs`.
    VsCode,
    /// Source: docs.windsurf.com/windsurf/cascade/mcp:
    /// `~/.codeium/windsurf/mcp_config.json`, key `mcpServers`, stdio
    /// `{command,args,env}`, remote `{serverUrl, headers}`.
    Windsurf,
    /// Source: zed.dev/docs/ai/mcp and zed's `ContextServerSettingsContent`:
    /// `settings.json` (JSONC), key `context_servers`, stdio
    /// `{command,args,env}` (older releases also need `"source":"custom"`,
    /// newer ones ignore it), remote `{url, headers}`.
    Zed,
    /// Source: geminicli.com/docs/tools/mcp-server: `~/.gemini/settings.json`,
    /// key `mcpServers`, stdio `{command,args,env}`, remote `{httpUrl|url, headers}`
    /// (`url` alone is SSE). `$GEMINI_CLI_HOME` replaces the home folder.
    GeminiCli,
    /// Source: developers.openai.com/codex/mcp and codex `docs/config.md`:
    /// `$CODEX_HOME/config.toml` (default `~/.codex`), tables
    /// `[mcp_servers.NAME]` with `command`, `args`, `env`; remote `url`,
    /// `http_headers`, `bearer_token_env_var`.
    Codex,
    /// Source: block.github.io/goose/docs/guides/config-files and goose's
    /// `ExtensionConfig`: `config.yaml`, key `extensions`, stdio entries
    /// `{enabled, type: stdio, name, cmd, args, envs, timeout}`; remote
    /// `type: sse | streamable_http` with `uri`, `headers`.
    Goose,
    /// Source: opencode.ai/docs/mcp-servers and /docs/config:
    /// `~/.config/opencode/opencode.json` (or `.jsonc`), key `mcp`, local
    /// `{"type":"local","command":[cmd,...args],"enabled":true,"environment":{}}`,
    /// remote `{"type":"remote",url,headers}`. The v2 docs nest servers under
    /// `mcp.servers`; a file laid out that way is read and edited in place.
    OpenCode,
    /// Source: docs.github.com Copilot CLI ("configuration directory") and
    /// code.visualstudio.com's portable format: `$COPILOT_HOME/mcp-config.json`
    /// (default `~/.copilot`), key `mcpServers`, local
    /// `{"type":"local",command,args,env,"tools":["*"]}`, remote `{"type":"http"|"sse",url,headers}`.
    CopilotCli,
}

/// How an app's settings file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON; comments and trailing commas are tolerated and kept.
    Json,
    /// TOML (Codex).
    Toml,
    /// YAML (goose).
    Yaml,
}

impl App {
    /// Every app, in the order the UI lists them.
    pub const ALL: [App; 11] = [
        App::ClaudeDesktop,
        App::ClaudeCode,
        App::Cursor,
        App::VsCode,
        App::Windsurf,
        App::Zed,
        App::GeminiCli,
        App::Codex,
        App::Goose,
        App::OpenCode,
        App::CopilotCli,
    ];

    /// Stable id, for storage, the CLI and the UI.
    pub fn id(self) -> &'static str {
        match self {
            App::ClaudeDesktop => "claude-desktop",
            App::ClaudeCode => "claude-code",
            App::Cursor => "cursor",
            App::VsCode => "vscode",
            App::Windsurf => "windsurf",
            App::Zed => "zed",
            App::GeminiCli => "gemini-cli",
            App::Codex => "codex",
            App::Goose => "goose",
            App::OpenCode => "opencode",
            App::CopilotCli => "copilot-cli",
        }
    }

    /// The name people know the app by.
    pub fn display_name(self) -> &'static str {
        match self {
            App::ClaudeDesktop => "Claude Desktop",
            App::ClaudeCode => "Claude Code",
            App::Cursor => "Cursor",
            App::VsCode => "VS Code",
            App::Windsurf => "Windsurf",
            App::Zed => "Zed",
            App::GeminiCli => "Gemini CLI",
            App::Codex => "Codex",
            App::Goose => "goose",
            App::OpenCode => "opencode",
            App::CopilotCli => "Copilot CLI",
        }
    }

    pub fn format(self) -> Format {
        match self {
            App::Codex => Format::Toml,
            App::Goose => Format::Yaml,
            _ => Format::Json,
        }
    }

    /// The top-level key that holds the servers (`mcp_servers` is a TOML
    /// table, `extensions` a YAML mapping, the rest JSON objects).
    pub fn servers_key(self) -> &'static str {
        match self {
            App::VsCode => "servers",
            App::Zed => "context_servers",
            App::Codex => "mcp_servers",
            App::Goose => "extensions",
            App::OpenCode => "mcp",
            _ => "mcpServers",
        }
    }

    /// Program names whose presence on PATH means the app is installed.
    /// Claude Desktop has no command-line program.
    pub fn binaries(self) -> &'static [&'static str] {
        match self {
            App::ClaudeDesktop => &[],
            App::ClaudeCode => &["claude"],
            App::Cursor => &["cursor"],
            App::VsCode => &["code"],
            App::Windsurf => &["windsurf"],
            App::Zed => &["zed", "zeditor"],
            App::GeminiCli => &["gemini"],
            App::Codex => &["codex"],
            App::Goose => &["goose"],
            App::OpenCode => &["opencode"],
            App::CopilotCli => &["copilot"],
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// The id did not name a known app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an app Keybearer knows. Use one of: claude-desktop, claude-code, cursor, vscode, windsurf, zed, gemini-cli, codex, goose, opencode, copilot-cli.")]
pub struct UnknownApp(pub String);

impl FromStr for App {
    type Err = UnknownApp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        App::ALL
            .into_iter()
            .find(|app| app.id() == s)
            .ok_or_else(|| UnknownApp(s.to_string()))
    }
}
