//! Names written twice: the app reads the last one, so Keybearer lists and
//! scans the last one too, and refuses to edit a JSON file where a name
//! that matters (the servers key, a server's name, a name inside an entry)
//! is written twice. TOML and YAML files with a duplicate are refused for
//! reading and editing alike, as their parsers do.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    list_servers, remove_connection_entries, remove_entries, replace_with_bridge, scan,
    upsert_bridge_entries, App, FindingKind, Transport,
};
use common::*;

fn url_of(text: &str, app: App, name: &str) -> String {
    let entries = list_servers(&file(app), text).unwrap();
    let found: Vec<_> = entries.iter().filter(|e| e.name == name).collect();
    assert_eq!(found.len(), 1, "{name} listed once: {entries:?}");
    match &found[0].transport {
        Transport::Remote(r) => r.url.clone(),
        other => panic!("{other:?}"),
    }
}

/// Every edit (of the entry `name`) refuses, names the duplicate, and says
/// nothing changed.
fn assert_edits_refused(app: App, text: &str, name: &str, words: &str) {
    let f = file(app);
    for result in [
        upsert_bridge_entries(&f, text, &[bridge("kb", "con_1")]),
        replace_with_bridge(&f, text, &bridge(name, "con_1")),
        remove_entries(&f, text, &[name]),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.code(), "duplicate_name", "{err}");
        let msg = err.to_string();
        assert!(msg.contains(words), "{words:?} not in {msg}");
        assert!(msg.contains("uses only the last one"), "{msg}");
        assert!(msg.contains("Keybearer has not changed the file."), "{msg}");
    }
}

const TWO_AS: &str = r#"{
  "mcpServers": {
    "a": { "type": "http", "url": "https://first.example.com/mcp", "headers": { "Authorization": "Bearer tok-first" } },
    "b": { "command": "b-server" },
    "a": { "type": "http", "url": "https://last.example.com/mcp", "headers": { "Authorization": "Bearer tok-last" } }
  }
}
"#;

#[test]
fn a_server_named_twice_is_read_as_the_last_one_and_never_edited() {
    // What the apps themselves read.
    let as_the_app: serde_json::Value = serde_json::from_str(TWO_AS).unwrap();
    assert_eq!(
        as_the_app["mcpServers"]["a"]["url"],
        "https://last.example.com/mcp"
    );
    assert_eq!(
        url_of(TWO_AS, App::ClaudeCode, "a"),
        "https://last.example.com/mcp"
    );
    let names: Vec<String> = list_servers(&file(App::ClaudeCode), TWO_AS)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["b", "a"]);
    let found = scan(&file(App::ClaudeCode), TWO_AS).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.expose_secret(), "tok-last");
    assert_edits_refused(App::ClaudeCode, TWO_AS, "a", "has two servers named \"a\"");
    // Disconnecting refuses too, once it would remove anything.
    let ours = TWO_AS.replace(
        r#""b": { "command": "b-server" }"#,
        r#""b": { "command": "/kb", "args": ["bridge", "--connection", "con_1"] }"#,
    );
    let err = remove_connection_entries(&file(App::ClaudeCode), &ours, "con_1").unwrap_err();
    assert_eq!(err.code(), "duplicate_name");
}

#[test]
fn the_servers_key_written_twice_is_read_as_the_last_one() {
    let text = r#"{
  "mcpServers": { "old": { "type": "http", "url": "https://old.example.com/mcp", "headers": { "Authorization": "Bearer tok-old" } } },
  "other": 1,
  "mcpServers": { "new": { "type": "http", "url": "https://new.example.com/mcp", "headers": { "Authorization": "Bearer tok-new" } } }
}
"#;
    let names: Vec<String> = list_servers(&file(App::Cursor), text)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["new"]);
    let found = scan(&file(App::Cursor), text).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.expose_secret(), "tok-new");
    assert_edits_refused(App::Cursor, text, "new", "has \"mcpServers\" twice");
}

#[test]
fn a_name_written_twice_inside_an_entry_is_read_as_the_last_one() {
    let headers_twice = r#"{
  "mcpServers": {
    "a": { "type": "http", "url": "https://mcp.example.com/mcp",
           "headers": { "Authorization": "Bearer tok-hidden" },
           "headers": { "Authorization": "Bearer tok-used" } }
  }
}
"#;
    let found = scan(&file(App::ClaudeCode), headers_twice).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, FindingKind::BearerToken);
    assert_eq!(found[0].secret.expose_secret(), "tok-used");
    assert_edits_refused(
        App::ClaudeCode,
        headers_twice,
        "a",
        "has \"headers\" twice in the server \"a\"",
    );

    let header_twice = r#"{
  "mcpServers": {
    "a": { "url": "https://mcp.example.com/mcp",
           "headers": { "X-API-Key": "key-hidden", "X-API-Key": "key-used" } }
  }
}
"#;
    let found = scan(&file(App::Cursor), header_twice).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.expose_secret(), "key-used");
    assert_edits_refused(
        App::Cursor,
        header_twice,
        "a",
        "has \"X-API-Key\" twice in the server \"a\"",
    );

    let env_twice = r#"{
  "mcpServers": {
    "a": { "command": "mcp-remote", "args": ["https://mcp.example.com/mcp", "--header", "Authorization:${AUTH}"],
           "env": { "AUTH": "Bearer tok-hidden", "AUTH": "Bearer tok-used" } }
  }
}
"#;
    let found = scan(&file(App::ClaudeDesktop), env_twice).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.expose_secret(), "tok-used");
    assert_edits_refused(
        App::ClaudeDesktop,
        env_twice,
        "a",
        "has \"AUTH\" twice in the server \"a\"",
    );
}

#[test]
fn duplicates_elsewhere_in_the_file_do_not_stop_an_edit() {
    let text = r#"{
  "editor.fontSize": 12,
  "editor.fontSize": 14,
  "mcpServers": { "a": { "command": "a-server" } }
}
"#;
    let out =
        upsert_bridge_entries(&file(App::ClaudeCode), text, &[bridge("kb", "con_1")]).unwrap();
    assert!(out.contains("\"editor.fontSize\": 12,\n  \"editor.fontSize\": 14"));
}

#[test]
fn opencode_servers_written_twice_inside_mcp_are_refused_for_editing() {
    let text = r#"{
  "mcp": {
    "servers": { "old": { "type": "remote", "url": "https://old.example.com/mcp" } },
    "servers": { "new": { "type": "remote", "url": "https://new.example.com/mcp" } }
  }
}
"#;
    let names: Vec<String> = list_servers(&file(App::OpenCode), text)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["new"]);
    let err = upsert_bridge_entries(&file(App::OpenCode), text, &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "duplicate_name");
    assert!(err
        .to_string()
        .contains("has \"servers\" twice inside \"mcp\""));
}

#[test]
fn toml_and_yaml_duplicates_are_refused_for_reading_and_editing() {
    let toml = "[mcp_servers.a]\nurl = \"https://first.example.com/mcp\"\n\n[mcp_servers.a]\nurl = \"https://last.example.com/mcp\"\n";
    let err = list_servers(&file(App::Codex), toml).unwrap_err();
    assert_eq!(err.code(), "config_unreadable", "{err}");
    let err = upsert_bridge_entries(&file(App::Codex), toml, &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "config_unreadable", "{err}");

    let yaml = "extensions:\n  a:\n    type: streamable_http\n    uri: https://first.example.com/mcp\n  a:\n    type: streamable_http\n    uri: https://last.example.com/mcp\n";
    let err = list_servers(&file(App::Goose), yaml).unwrap_err();
    assert_eq!(err.code(), "config_unreadable", "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("the same name is written twice in one section"),
        "{msg}"
    );
    assert!(!msg.contains("String("), "{msg}");
    let err = upsert_bridge_entries(&file(App::Goose), yaml, &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "config_unreadable", "{err}");
}
