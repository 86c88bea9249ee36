//! JSON editing rules: refusals, look-alikes, import replacement, new files.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    find_connection_entries, list_servers, remove_connection_entries, remove_entries,
    replace_with_bridge, upsert_bridge_entries, App, BridgeEntry, ConfigFile, Error, Transport,
};
use common::*;
use serde_json::json;

const WITH_OURS: &str = r#"{
  "mcpServers": {
    "github": {
      "command": "/opt/keybearer/bin/keybearer",
      "args": ["bridge", "--connection", "con_01", "--server", "https://api.githubcopilot.com/mcp/"],
      "env": {}
    },
    "github-work": {
      "command": "/opt/keybearer/bin/keybearer",
      "args": ["bridge", "--connection", "con_02", "--server", "https://api.githubcopilot.com/mcp/"]
    },
    "lookalike": {
      "command": "/usr/bin/other",
      "args": ["--connection", "con_01", "bridge"]
    },
    "equals-form": {
      "command": "/opt/keybearer/bin/keybearer",
      "args": ["bridge", "--connection=con_01"]
    },
    "remote": { "url": "https://example.com/mcp", "headers": { "Authorization": "Bearer abc" } }
  }
}
"#;

#[test]
fn unparseable_file_is_refused_with_position() {
    let f = ConfigFile {
        app: App::Cursor,
        path: "/home/ada/.cursor/mcp.json".into(),
        display: "~/.cursor/mcp.json".into(),
    };
    let broken = "{\n  \"mcpServers\": {\n    \"a\": { \"command\": \"x\" }\n    \"b\": { \"command\": \"y\" }\n  }\n}\n";
    let copy = broken.to_string();
    let err = upsert_bridge_entries(&f, broken, &[bridge("kb", "c")]).unwrap_err();
    assert_eq!(err.code(), "config_unreadable");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "Cursor's settings file (~/.cursor/mcp.json) could not be read: line 3, column "
        ),
        "{msg}"
    );
    assert!(msg.contains("expected a comma. Fix or remove that line, then try again. Keybearer has not changed the file."), "{msg}");
    assert_eq!(broken, copy);
    for result in [
        remove_connection_entries(&f, broken, "c"),
        remove_entries(&f, broken, &["a"]),
        replace_with_bridge(&f, broken, &bridge("a", "c")),
    ] {
        assert_eq!(result.unwrap_err().code(), "config_unreadable");
    }
    assert!(list_servers(&f, broken).is_err());
}

#[test]
fn looser_than_jsonc_is_refused() {
    let f = file(App::ClaudeDesktop);
    for text in [
        "{'mcpServers': {}}",
        "{mcpServers: {}}",
        "{\"a\": 0x10}",
        "{\"a\": 1} {\"b\": 2}",
    ] {
        let err = list_servers(&f, text).unwrap_err();
        assert_eq!(err.code(), "config_unreadable", "{text}");
    }
}

#[test]
fn servers_key_of_the_wrong_type_is_refused() {
    let f = file(App::ClaudeCode);
    for text in [
        r#"{"mcpServers": []}"#,
        r#"{"mcpServers": "x"}"#,
        "[1, 2]",
        "42",
    ] {
        let err = upsert_bridge_entries(&f, text, &[bridge("kb", "c")]).unwrap_err();
        assert_eq!(err.code(), "not_an_object", "{text}");
        assert!(err
            .to_string()
            .contains("Keybearer has not changed the file"));
    }
}

#[test]
fn name_taken_by_someone_else_is_refused() {
    let f = file(App::ClaudeDesktop);
    let err = upsert_bridge_entries(&f, WITH_OURS, &[bridge("remote", "con_01")]).unwrap_err();
    assert!(matches!(err, Error::NameTaken { .. }));
    assert_eq!(err.code(), "name_taken");
    assert!(err.to_string().contains("\"remote\""));
    let err = upsert_bridge_entries(&f, WITH_OURS, &[bridge("lookalike", "con_01")]).unwrap_err();
    assert_eq!(err.code(), "name_taken");
    // Ours, but for another connection.
    let err = upsert_bridge_entries(&f, WITH_OURS, &[bridge("github-work", "con_01")]).unwrap_err();
    assert_eq!(err.code(), "name_taken_by_connection");
    // Nothing half-done: a batch with one bad name is refused whole.
    let batch = [bridge("fresh", "con_09"), bridge("remote", "con_09")];
    assert!(upsert_bridge_entries(&f, WITH_OURS, &batch).is_err());
}

#[test]
fn upsert_updates_our_own_entry_in_place() {
    let f = file(App::ClaudeDesktop);
    let mut moved = BridgeEntry::new("github", KB, "con_01", "https://new.example.com/mcp");
    moved.env = vec![("A".into(), "1".into())];
    let out = upsert_bridge_entries(&f, WITH_OURS, &[moved]).unwrap();
    let v = json(&out);
    assert_eq!(
        v["mcpServers"]["github"]["args"][4],
        json!("https://new.example.com/mcp")
    );
    assert_eq!(v["mcpServers"]["github"]["env"], json!({"A": "1"}));
    // Still first.
    let names: Vec<String> = list_servers(&f, &out)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names[0], "github");
    assert_eq!(names.len(), 5);
}

#[test]
fn remove_connection_entries_removes_only_ours() {
    let f = file(App::ClaudeDesktop);
    assert_eq!(
        find_connection_entries(&f, WITH_OURS, "con_01").unwrap(),
        vec!["github".to_string(), "equals-form".to_string()]
    );
    let out = remove_connection_entries(&f, WITH_OURS, "con_01").unwrap();
    let names: Vec<String> = list_servers(&f, &out)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["github-work", "lookalike", "remote"]);
    // Removing a connection that has no entries returns the text as it was.
    assert_eq!(
        remove_connection_entries(&f, WITH_OURS, "con_77").unwrap(),
        WITH_OURS
    );
    assert_eq!(remove_connection_entries(&f, "", "con_01").unwrap(), "");
}

#[test]
fn remove_entries_by_name() {
    let f = file(App::ClaudeDesktop);
    let out = remove_entries(&f, WITH_OURS, &["remote", "not-there"]).unwrap();
    assert_eq!(list_servers(&f, &out).unwrap().len(), 4);
    assert!(!out.contains("Bearer abc"));
    assert_only_inserted(&out, WITH_OURS);
}

#[test]
fn import_replaces_a_remote_entry_in_place() {
    let f = file(App::Cursor);
    let text = "{\n  \"mcpServers\": {\n    \"first\": { \"command\": \"a\" },\n    \"linear\": {\n      \"url\": \"https://mcp.linear.app/mcp\",\n      \"headers\": { \"Authorization\": \"Bearer lin_api_SECRET\" }\n    }, // pasted from the docs\n    \"last\": { \"command\": \"b\" }\n  }\n}\n";
    let entry = BridgeEntry::new("linear", KB, "con_05", "https://mcp.linear.app/mcp");
    let out = replace_with_bridge(&f, text, &entry).unwrap();
    assert!(!out.contains("lin_api_SECRET"));
    assert!(out.contains("}, // pasted from the docs"));
    let listed = list_servers(&f, &out).unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["first", "linear", "last"]);
    assert!(listed[1].is_ours("con_05"));
    assert!(out.starts_with(
        "{\n  \"mcpServers\": {\n    \"first\": { \"command\": \"a\" },\n    \"linear\": {"
    ));
    assert!(
        out.ends_with("}, // pasted from the docs\n    \"last\": { \"command\": \"b\" }\n  }\n}\n")
    );
    let err = replace_with_bridge(&f, text, &bridge("gone", "con_05")).unwrap_err();
    assert_eq!(err.code(), "entry_not_found");
}

#[test]
fn missing_or_empty_file_gets_a_minimal_one() {
    for app in [
        App::ClaudeDesktop,
        App::VsCode,
        App::Zed,
        App::OpenCode,
        App::CopilotCli,
    ] {
        let f = file(app);
        for text in ["", "  \n"] {
            let out = upsert_bridge_entries(&f, text, &[bridge("kb", "con_1")]).unwrap();
            assert!(out.ends_with("}\n"), "{app}");
            let listed = list_servers(&f, &out).unwrap();
            assert_eq!(listed.len(), 1);
            assert!(listed[0].is_ours("con_1"));
        }
    }
    let out = upsert_bridge_entries(&file(App::VsCode), "", &[bridge("kb", "c")]).unwrap();
    assert_eq!(json(&out)["servers"]["kb"]["type"], json!("stdio"));
}

#[test]
fn comment_only_file_and_null_servers() {
    let f = file(App::Zed);
    let out = upsert_bridge_entries(&f, "// nothing yet\n", &[bridge("kb", "c")]).unwrap();
    assert!(out.starts_with("// nothing yet\n"));
    assert_eq!(list_servers(&f, &out).unwrap().len(), 1);
    let out = upsert_bridge_entries(
        &f,
        "{\"context_servers\": null, \"x\": 1}",
        &[bridge("kb", "c")],
    )
    .unwrap();
    assert_eq!(json(&out)["x"], json!(1));
    assert_eq!(list_servers(&f, &out).unwrap().len(), 1);
}

#[test]
fn invalid_bridge_entries_are_refused() {
    let f = file(App::Cursor);
    let mut no_connection = bridge("kb", "c");
    no_connection.args = vec!["bridge".into()];
    let mut empty_name = bridge("kb", "c");
    empty_name.name = " ".into();
    for e in [no_connection, empty_name] {
        assert_eq!(
            upsert_bridge_entries(&f, "{}", &[e]).unwrap_err().code(),
            "invalid_entry"
        );
    }
    let twice = [bridge("kb", "c"), bridge("kb", "c")];
    assert_eq!(
        upsert_bridge_entries(&f, "{}", &twice).unwrap_err().code(),
        "invalid_entry"
    );
}

#[test]
fn awkward_names_and_values_are_escaped() {
    let f = file(App::ClaudeDesktop);
    let mut e = BridgeEntry::new(
        "quote\" and \\ slash",
        KB,
        "con \"1\"",
        "https://x/?a=1&b=\"2\"",
    );
    e.env = vec![("NOTE".into(), "line1\nline2 ünïcode".into())];
    let out = upsert_bridge_entries(&f, "{}", std::slice::from_ref(&e)).unwrap();
    let listed = list_servers(&f, &out).unwrap();
    assert_eq!(listed[0].name, e.name);
    match &listed[0].transport {
        Transport::Stdio(s) => {
            assert_eq!(s.args, e.args);
            assert_eq!(s.env, e.env);
        }
        other => panic!("{other:?}"),
    }
    assert!(listed[0].is_ours("con \"1\""));
}

/// jsonc-parser drops a blank line under an open brace when it appends to
/// the object; the editor puts it back (found by the fuzz target
/// `settings_jsonc`).
#[test]
fn a_blank_line_under_an_open_brace_stays() {
    let f = file(App::ClaudeDesktop);
    for text in [
        "{\n\n  \"a\": 1\n}\n",
        "{\r\n\r\n  \"a\": 1\r\n}\r\n",
        "{\n  \"mcpServers\": {\n\n    \"x\": {\"command\": \"x\"}\n  }\n}\n",
    ] {
        let out = upsert_bridge_entries(&f, text, &[bridge("kb", "con_01")]).unwrap();
        assert_only_inserted(text, &out);
        let (old, new) = (text.replace("\r\n", "\n"), out.replace("\r\n", "\n"));
        assert!(
            new.starts_with(&old[..old.find("\n\n").unwrap() + 2]),
            "{out:?}"
        );
    }
}
