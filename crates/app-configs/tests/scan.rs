//! Secret scan for import: pasted tokens in headers, URLs, env vars and
//! mcp-remote arguments; references are not secrets; nothing prints.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{scan, App, Finding, FindingKind};
use common::*;

const CLAUDE_DESKTOP: &str = r#"{
  "mcpServers": {
    "linear": {
      "command": "npx",
      "args": ["-y", "mcp-remote", "https://mcp.linear.app/sse", "--header", "Authorization: Bearer lin_api_PASTED1"]
    },
    "asana": {
      "command": "npx",
      "args": ["mcp-remote@latest", "https://mcp.asana.com/sse", "--header", "Authorization:${AUTH_HEADER}"],
      "env": { "AUTH_HEADER": "Bearer asana_PASTED2" }
    },
    "notion": {
      "command": "npx",
      "args": ["-y", "mcp-remote", "https://mcp.notion.com/mcp", "--header", "Authorization:${AUTH_HEADER}"],
      "env": { "AUTH_HEADER": "${NOTION_AUTH}" }
    },
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
      "env": { "GITHUB_TOKEN": "ghp_LOCAL_NOT_REMOTE" }
    }
  }
}
"#;

const CURSOR: &str = r#"{
  "mcpServers": {
    "amap": { "url": "https://mcp.amap.com/mcp?key=amap_PASTED3&lang=en#frag" },
    "context7": {
      "url": "https://mcp.context7.com/mcp",
      "headers": { "CONTEXT7_API_KEY": "ctx7_PASTED4", "X-Client": "cursor", "X-Trace": "on" }
    },
    "github": {
      "url": "https://api.githubcopilot.com/mcp/",
      "headers": { "Authorization": "token ghp_PASTED5" }
    },
    "safe": {
      "url": "https://example.com/mcp?token=${env:TOKEN}",
      "headers": { "Authorization": "Bearer ${env:GITHUB_PAT}", "X-Api-Key": "$API_KEY" }
    }
  }
}
"#;

fn secrets(findings: &[Finding]) -> Vec<(&str, &FindingKind, &str, &str)> {
    findings
        .iter()
        .map(|f| {
            (
                f.server.as_str(),
                &f.kind,
                f.url.as_str(),
                f.secret.expose_secret(),
            )
        })
        .collect()
}

#[test]
fn mcp_remote_arguments_and_env_referenced_headers() {
    let found = scan(&file(App::ClaudeDesktop), CLAUDE_DESKTOP).unwrap();
    assert_eq!(
        secrets(&found),
        [
            (
                "linear",
                &FindingKind::BearerToken,
                "https://mcp.linear.app/sse",
                "lin_api_PASTED1"
            ),
            (
                "asana",
                &FindingKind::BearerToken,
                "https://mcp.asana.com/sse",
                "asana_PASTED2"
            ),
        ]
    );
}

#[test]
fn remote_headers_and_query_strings() {
    let found = scan(&file(App::Cursor), CURSOR).unwrap();
    assert_eq!(
        secrets(&found),
        [
            (
                "amap",
                &FindingKind::QueryParam("key".into()),
                "https://mcp.amap.com/mcp?lang=en#frag",
                "amap_PASTED3"
            ),
            (
                "context7",
                &FindingKind::OtherHeader("CONTEXT7_API_KEY".into()),
                "https://mcp.context7.com/mcp",
                "ctx7_PASTED4"
            ),
            (
                "github",
                &FindingKind::OtherHeader("Authorization".into()),
                "https://api.githubcopilot.com/mcp/",
                "token ghp_PASTED5"
            ),
        ]
    );
}

#[test]
fn every_format_is_scanned() {
    let codex = "[mcp_servers.figma]\nurl = \"https://mcp.figma.com/mcp?access_token=fig%2BPASTED6\"\nhttp_headers = { \"X-Api-Key\" = \"k_PASTED7\" }\n";
    let found = scan(&file(App::Codex), codex).unwrap();
    assert_eq!(
        secrets(&found),
        [
            (
                "figma",
                &FindingKind::OtherHeader("X-Api-Key".into()),
                "https://mcp.figma.com/mcp",
                "k_PASTED7"
            ),
            (
                "figma",
                &FindingKind::QueryParam("access_token".into()),
                "https://mcp.figma.com/mcp",
                "fig+PASTED6"
            ),
        ]
    );

    let goose = "extensions:\n  linear:\n    type: streamable_http\n    uri: https://mcp.linear.app/mcp\n    headers:\n      Authorization: Bearer lin_PASTED8\n    envs:\n      LINEAR_API_KEY: lin_PASTED9\n      REGION: eu\n      OTHER_TOKEN: $OTHER\n";
    let found = scan(&file(App::Goose), goose).unwrap();
    assert_eq!(
        secrets(&found),
        [
            (
                "linear",
                &FindingKind::BearerToken,
                "https://mcp.linear.app/mcp",
                "lin_PASTED8"
            ),
            (
                "linear",
                &FindingKind::EnvVar("LINEAR_API_KEY".into()),
                "https://mcp.linear.app/mcp",
                "lin_PASTED9"
            ),
        ]
    );

    let opencode = "{\"mcp\": {\"ctx\": {\"type\": \"remote\", \"url\": \"https://mcp.context7.com/mcp\", \"headers\": {\"CONTEXT7_API_KEY\": \"{env:CONTEXT7_API_KEY}\", \"Api-Key\": \"oc_PASTED10\"}}}}";
    let found = scan(&file(App::OpenCode), opencode).unwrap();
    assert_eq!(
        secrets(&found),
        [(
            "ctx",
            &FindingKind::OtherHeader("Api-Key".into()),
            "https://mcp.context7.com/mcp",
            "oc_PASTED10"
        )]
    );

    let vscode = "{\"servers\": {\"gh\": {\"type\": \"http\", \"url\": \"https://api.githubcopilot.com/mcp/\", \"headers\": {\"Authorization\": \"Bearer ${input:github-pat}\"}}}}";
    assert!(scan(&file(App::VsCode), vscode).unwrap().is_empty());

    let gemini = "{\"mcpServers\": {\"gh\": {\"httpUrl\": \"https://api.githubcopilot.com/mcp/\", \"headers\": {\"Authorization\": \"bearer ghp_PASTED11\"}}}}";
    let found = scan(&file(App::GeminiCli), gemini).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FindingKind::BearerToken);
    assert_eq!(found[0].secret.expose_secret(), "ghp_PASTED11");
}

#[test]
fn nothing_secret_prints() {
    let mut all = scan(&file(App::ClaudeDesktop), CLAUDE_DESKTOP).unwrap();
    all.extend(scan(&file(App::Cursor), CURSOR).unwrap());
    assert!(all.len() >= 5);
    let printed = format!("{all:?}");
    for f in &all {
        assert!(!printed.contains(f.secret.expose_secret()), "{printed}");
    }
    assert!(printed.contains("<redacted>"));
    assert!(!printed.contains("PASTED"));
}

#[test]
fn unreadable_file_is_an_error() {
    let err = scan(&file(App::Cursor), "{\"mcpServers\": {").unwrap_err();
    assert_eq!(err.code(), "config_unreadable");
}
