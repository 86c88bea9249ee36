//! Every JSON app: realistic settings files go through upsert → read back →
//! remove, and must come back byte for byte.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    list_servers, remove_connection_entries, upsert_bridge_entries, App, ServerEntry, Transport,
};
use common::*;
use serde_json::json;

const CLAUDE_DESKTOP: &str = r#"{
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/ada/Desktop"]
        },
        "linear":   {"command": "npx", "args": ["-y", "mcp-remote", "https://mcp.linear.app/sse"]}
    },
    "preferences": {"menuBarEnabled": true}
}
"#;

const CLAUDE_CODE: &str = r#"{
  "numStartups": 42,
  "installMethod": "native",
  "autoUpdates": true,
  "projects": {
    "/home/ada/src/app": {
      "allowedTools": [],
      "mcpServers": {
        "keybearer-github": {
          "type": "stdio",
          "command": "npx",
          "args": ["project-local"],
          "env": {}
        }
      }
    }
  },
  "mcpServers": {
    "sentry": {
      "type": "http",
      "url": "https://mcp.sentry.dev/mcp"
    },
    "memory": {
      "type": "stdio",
      "command": "npx",
      "args": [
        "-y",
        "@modelcontextprotocol/server-memory"
      ],
      "env": {}
    }
  },
  "userID": "abc123",
  "hasCompletedOnboarding": true
}
"#;

const CURSOR: &str = r#"// Cursor MCP servers (global)
{
  "mcpServers": {
    // docs lookup
    "context7": {
      "url": "https://mcp.context7.com/mcp",
      "headers": { "CONTEXT7_API_KEY": "${env:CONTEXT7_API_KEY}" }
    },
    "postgres": {
      "command": "docker",
      "args": ["run", "-i", "--rm", "mcp/postgres", "postgresql://localhost/db"], // local db
    },
  },
}
"#;

const VSCODE: &str = r#"{
	// Inputs are prompted on first server start, then stored securely by VS Code.
	"inputs": [
		{
			"type": "promptString",
			"id": "perplexity-key",
			"description": "Perplexity API Key",
			"password": true
		}
	],
	"servers": {
		"Perplexity": {
			"type": "stdio",
			"command": "npx",
			"args": ["-y", "server-perplexity-ask"],
			"env": {
				"PERPLEXITY_API_KEY": "${input:perplexity-key}"
			}
		},
		/* GitHub's hosted server */
		"github": {
			"type": "http",
			"url": "https://api.githubcopilot.com/mcp/"
		}
	}
}
"#;

const WINDSURF_LF: &str = r#"{
  "mcpServers": {
    "github": {
      "serverUrl": "https://api.githubcopilot.com/mcp/",
      "headers": {
        "Authorization": "Bearer ${env:GITHUB_PAT}"
      }
    },
    "brave": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-brave-search"],
      "disabled": true
    }
  }
}
"#;

const ZED: &str = r#"// Zed settings
//
// For information on how to configure Zed, see the Zed
// documentation: https://zed.dev/docs/configuring-zed
{
  "ui_font_size": 16,
  "buffer_font_size": 15,
  "theme": {
    "mode": "system",
    "light": "One Light",
    "dark": "One Dark"
  },
  "context_servers": {
    // old nested form, still read
    "mcp-server-git": {
      "source": "custom",
      "command": { "path": "uvx", "args": ["mcp-server-git"], "env": {} }
    },
    "postgres-context-server": {
      "source": "extension",
      "enabled": true,
      "settings": { "database_url": "postgresql://localhost/db" }
    }
  },
  "vim_mode": false
}
"#;

const GEMINI: &str = r#"{
  "theme": "GitHub",
  "selectedAuthType": "oauth-personal",
  "mcpServers": {
    "github": {
      "httpUrl": "https://api.githubcopilot.com/mcp/",
      "headers": {"Authorization": "Bearer $GITHUB_PAT"},
      "timeout": 5000
    }
  },
  "usageStatisticsEnabled": false
}
"#;

const OPENCODE: &str = r#"{
  "$schema": "https://opencode.ai/config.json",
  // Theme configuration
  "theme": "opencode",
  "model": "anthropic/claude-sonnet-4-5",
  "mcp": {
    "context7": {
      "type": "remote",
      "url": "https://mcp.context7.com/mcp",
      "headers": { "CONTEXT7_API_KEY": "{env:CONTEXT7_API_KEY}" },
    },
    "everything": {
      "type": "local",
      "command": ["npx", "-y", "@modelcontextprotocol/server-everything"],
      "enabled": false,
    },
  },
}
"#;

const COPILOT: &str = r#"{
  "mcpServers": {
    "playwright": {
      "type": "local",
      "command": "npx",
      "args": ["@playwright/mcp@latest"],
      "env": {},
      "tools": ["*"]
    },
    "github-remote": {
      "type": "http",
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": { "X-MCP-Toolsets": "repos,issues" },
      "tools": ["*"]
    }
  }
}
"#;

fn args() -> serde_json::Value {
    json!([
        "bridge",
        "--connection",
        "con_01",
        "--server",
        "https://mcp.example.com/mcp"
    ])
}

fn env() -> serde_json::Value {
    json!({"KEYBEARER_PROFILE": "work", "LOG_LEVEL": "warn"})
}

fn common_shape() -> serde_json::Value {
    json!({"command": KB, "args": args(), "env": env()})
}

fn typed_shape(kind: &str) -> serde_json::Value {
    json!({"type": kind, "command": KB, "args": args(), "env": env()})
}

/// Upsert, check the exact shape and that nothing else moved, remove, and
/// get the original back byte for byte.
fn round_trip(app: App, fixture: &str, servers: &[&str], expected: serde_json::Value) {
    let f = file(app);
    let entry = bridge_with_env("keybearer-github", "con_01");
    let before = list_servers(&f, fixture).unwrap();
    let out = upsert_bridge_entries(&f, fixture, std::slice::from_ref(&entry)).unwrap();

    let value = json(&out);
    let mut node = &value;
    for key in servers {
        node = &node[*key];
    }
    assert_eq!(node["keybearer-github"], expected, "{app}: entry shape");

    let after = list_servers(&f, &out).unwrap();
    assert_eq!(after.len(), before.len() + 1, "{app}: one entry added");
    for e in &before {
        assert!(after.contains(e), "{app}: {} kept", e.name);
    }
    let ours: Vec<&ServerEntry> = after.iter().filter(|e| e.is_ours("con_01")).collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].name, "keybearer-github");

    assert_only_inserted(fixture, &out);
    assert_comments_kept(fixture, &out, "//");
    assert_comments_kept(fixture, &out, "/*");

    // Upserting the same entry again changes nothing.
    assert_eq!(upsert_bridge_entries(&f, &out, &[entry]).unwrap(), out);

    let back = remove_connection_entries(&f, &out, "con_01").unwrap();
    assert_eq!(
        back, fixture,
        "{app}: upsert then remove gives the original back"
    );
}

#[test]
fn claude_desktop() {
    round_trip(
        App::ClaudeDesktop,
        CLAUDE_DESKTOP,
        &["mcpServers"],
        common_shape(),
    );
}

#[test]
fn claude_code_user_scope_only() {
    round_trip(
        App::ClaudeCode,
        CLAUDE_CODE,
        &["mcpServers"],
        typed_shape("stdio"),
    );
    // The project-scoped entry of the same name is not the user-scope one.
    let f = file(App::ClaudeCode);
    let out =
        upsert_bridge_entries(&f, CLAUDE_CODE, &[bridge("keybearer-github", "con_01")]).unwrap();
    let v = json(&out);
    assert_eq!(
        v["projects"]["/home/ada/src/app"]["mcpServers"]["keybearer-github"]["args"],
        json!(["project-local"])
    );
}

#[test]
fn cursor_with_comments_and_trailing_commas() {
    round_trip(App::Cursor, CURSOR, &["mcpServers"], common_shape());
}

#[test]
fn vscode_jsonc_servers_key() {
    round_trip(App::VsCode, VSCODE, &["servers"], typed_shape("stdio"));
    let out = upsert_bridge_entries(&file(App::VsCode), VSCODE, &[bridge("kb", "c")]).unwrap();
    // Tabs, as the file uses them.
    assert!(out.contains("\n\t\t\"kb\": {\n\t\t\t\"type\": \"stdio\",\n\t\t\t\"command\""));
}

#[test]
fn windsurf_crlf() {
    let crlf = WINDSURF_LF.replace('\n', "\r\n");
    round_trip(App::Windsurf, &crlf, &["mcpServers"], common_shape());
    let out = upsert_bridge_entries(&file(App::Windsurf), &crlf, &[bridge("kb", "c")]).unwrap();
    assert_eq!(
        out.matches('\n').count(),
        out.matches("\r\n").count(),
        "all CRLF"
    );
}

#[test]
fn zed_context_servers() {
    round_trip(App::Zed, ZED, &["context_servers"], common_shape());
    let listed = list_servers(&file(App::Zed), ZED).unwrap();
    assert!(
        matches!(&listed[0].transport, Transport::Stdio(s) if s.command == "uvx" && s.args == ["mcp-server-git"])
    );
    assert!(matches!(&listed[1].transport, Transport::Other { .. }));
}

#[test]
fn gemini_cli() {
    round_trip(App::GeminiCli, GEMINI, &["mcpServers"], common_shape());
}

#[test]
fn opencode_local_shape() {
    let mut line = vec![json!(KB)];
    line.extend(args().as_array().unwrap().iter().cloned());
    let expected = json!({"type": "local", "command": line, "enabled": true, "environment": env()});
    round_trip(App::OpenCode, OPENCODE, &["mcp"], expected);
    let listed = list_servers(&file(App::OpenCode), OPENCODE).unwrap();
    assert!(
        matches!(&listed[1].transport, Transport::Stdio(s) if s.command == "npx" && s.args.len() == 2)
    );
}

#[test]
fn opencode_v2_nested_servers() {
    let v2 = "{\n  \"mcp\": {\n    \"servers\": {\n      \"my-server\": {\n        \"type\": \"local\",\n        \"command\": [\"npx\", \"-y\", \"example-mcp-server\"],\n      },\n    },\n  },\n}\n";
    let mut line = vec![json!(KB)];
    line.extend(args().as_array().unwrap().iter().cloned());
    let expected = json!({"type": "local", "command": line, "environment": env()});
    round_trip(App::OpenCode, v2, &["mcp", "servers"], expected);
}

#[test]
fn copilot_cli() {
    let mut expected = typed_shape("local");
    expected["tools"] = json!(["*"]);
    round_trip(App::CopilotCli, COPILOT, &["mcpServers"], expected);
}

#[test]
fn key_order_follows_the_docs() {
    let out = upsert_bridge_entries(&file(App::ClaudeCode), "", &[bridge("kb", "c")]).unwrap();
    let pos = |k: &str| out.find(&format!("\"{k}\"")).unwrap();
    assert!(
        pos("type") < pos("command") && pos("command") < pos("args") && pos("args") < pos("env")
    );
}
