//! Codex `config.toml`: tables under `[mcp_servers.NAME]`, everything else kept.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    list_servers, remove_connection_entries, replace_with_bridge, upsert_bridge_entries, App,
    BridgeEntry, RemoteTransport, Transport,
};
use common::*;

const CODEX: &str = r#"# Codex settings
model = "gpt-5-codex"
approval_policy = "on-request"   # ask before running commands

[tui]
notifications = true

# Local docs server
[mcp_servers.docs]
command = "npx"
args = ["-y", "mcp-server-docs"]
startup_timeout_sec = 20

[mcp_servers.docs.env]
DOCS_ROOT = "/home/ada/docs"

[mcp_servers.figma]
url = "https://mcp.figma.com/mcp"
bearer_token_env_var = "FIGMA_OAUTH_TOKEN"
http_headers = { "X-Figma-Region" = "us-east-1" }

[profiles.fast]
model = "gpt-5-mini"
model_reasoning_effort   =   "low"
"#;

fn codex() -> app_configs::ConfigFile {
    file(App::Codex)
}

#[test]
fn upsert_writes_a_table_and_remove_restores_every_byte() {
    let entry = bridge_with_env("keybearer-linear", "con_01");
    let out = upsert_bridge_entries(&codex(), CODEX, std::slice::from_ref(&entry)).unwrap();
    let doc: toml_edit::DocumentMut = out.parse().unwrap();
    let t = &doc["mcp_servers"]["keybearer-linear"];
    assert_eq!(t["command"].as_str(), Some(KB));
    let args: Vec<&str> = t["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "bridge",
            "--connection",
            "con_01",
            "--server",
            "https://mcp.example.com/mcp"
        ]
    );
    assert_eq!(t["env"]["KEYBEARER_PROFILE"].as_str(), Some("work"));
    assert_eq!(t["env"]["LOG_LEVEL"].as_str(), Some("warn"));
    // Placed after the other servers, before [profiles.fast].
    let ours = out.find("[mcp_servers.keybearer-linear]").unwrap();
    assert!(out.find("[mcp_servers.figma]").unwrap() < ours);
    assert!(ours < out.find("[profiles.fast]").unwrap());
    assert!(!out.contains("\n[mcp_servers]\n"), "no bare header");
    assert_only_inserted(CODEX, &out);
    assert_comments_kept(CODEX, &out, "#");
    assert_eq!(
        upsert_bridge_entries(&codex(), &out, &[entry]).unwrap(),
        out
    );
    assert_eq!(
        remove_connection_entries(&codex(), &out, "con_01").unwrap(),
        CODEX
    );
}

#[test]
fn reads_stdio_and_remote_entries() {
    let listed = list_servers(&codex(), CODEX).unwrap();
    assert_eq!(listed.len(), 2);
    match &listed[0].transport {
        Transport::Stdio(s) => {
            assert_eq!(s.command, "npx");
            assert_eq!(
                s.env,
                [("DOCS_ROOT".to_string(), "/home/ada/docs".to_string())]
            );
        }
        other => panic!("{other:?}"),
    }
    match &listed[1].transport {
        Transport::Remote(r) => {
            assert_eq!(r.url, "https://mcp.figma.com/mcp");
            assert_eq!(r.transport, Some(RemoteTransport::Http));
            assert_eq!(
                r.headers,
                [("X-Figma-Region".to_string(), "us-east-1".to_string())]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn crlf_file_stays_crlf() {
    let crlf = CODEX.replace('\n', "\r\n");
    let out = upsert_bridge_entries(&codex(), &crlf, &[bridge("kb", "con_1")]).unwrap();
    assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
    assert_eq!(
        remove_connection_entries(&codex(), &out, "con_1").unwrap(),
        crlf
    );
}

#[test]
fn new_and_empty_files() {
    for text in ["", "model = \"o3\"\n"] {
        let out = upsert_bridge_entries(&codex(), text, &[bridge("kb", "con_1")]).unwrap();
        assert!(out.starts_with(text));
        assert!(out.contains("[mcp_servers.kb]\ncommand = "));
        assert_eq!(
            remove_connection_entries(&codex(), &out, "con_1").unwrap(),
            text
        );
    }
}

#[test]
fn refusals() {
    let err = upsert_bridge_entries(&codex(), "model = \"o3\n", &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "config_unreadable");
    assert!(err.to_string().contains("line 1, column"), "{err}");
    let err =
        upsert_bridge_entries(&codex(), "mcp_servers = 3\n", &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "not_an_object");
    let inline = "mcp_servers = { docs = { command = \"x\" } }\n";
    let err = upsert_bridge_entries(&codex(), inline, &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "unsupported_layout");
    let err = upsert_bridge_entries(&codex(), CODEX, &[bridge("docs", "c")]).unwrap_err();
    assert_eq!(err.code(), "name_taken");
}

#[test]
fn import_replaces_the_remote_table_in_place() {
    let entry = BridgeEntry::new("figma", KB, "con_03", "https://mcp.figma.com/mcp");
    let out = replace_with_bridge(&codex(), CODEX, &entry).unwrap();
    assert!(!out.contains("bearer_token_env_var"));
    let figma = out.find("[mcp_servers.figma]").unwrap();
    assert!(figma < out.find("[profiles.fast]").unwrap());
    assert!(out.starts_with(&CODEX[..CODEX.find("[mcp_servers.figma]").unwrap()]));
    assert!(out.ends_with(&CODEX[CODEX.find("\n[profiles.fast]").unwrap()..]));
    let listed = list_servers(&codex(), &out).unwrap();
    assert!(listed[1].is_ours("con_03"));
}

#[test]
fn dotted_keys_layout_is_kept() {
    let text = "mcp_servers.docs.command = \"npx\"\nmodel = \"o3\"\n";
    let out = upsert_bridge_entries(&codex(), text, &[bridge("kb", "con_1")]).unwrap();
    assert!(out.starts_with(text));
    assert_eq!(list_servers(&codex(), &out).unwrap().len(), 2);
    assert_eq!(
        remove_connection_entries(&codex(), &out, "con_1").unwrap(),
        text
    );
}
