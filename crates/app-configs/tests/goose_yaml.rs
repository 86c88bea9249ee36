//! goose `config.yaml`: targeted edits of the `extensions:` block.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    list_servers, remove_connection_entries, remove_entries, replace_with_bridge,
    upsert_bridge_entries, App, BridgeEntry, ConfigFile, RemoteTransport, Transport,
};
use common::*;
use yaml_rust2::{Yaml, YamlLoader};

const GOOSE: &str = r#"# goose configuration
GOOSE_PROVIDER: anthropic
GOOSE_MODEL: claude-sonnet-4-5
GOOSE_MODE: smart_approve
extensions:
  developer:
    bundled: true
    display_name: Developer
    enabled: true
    name: developer
    timeout: 300
    type: builtin
  # GitHub, added by hand
  github:
    args:
    - -y
    - '@modelcontextprotocol/server-github'
    cmd: npx
    description: GitHub
    enabled: true
    env_keys: []
    envs:
      GITHUB_PERSONAL_ACCESS_TOKEN: ghp_example
    name: github
    timeout: 300
    type: stdio
  linear:
    enabled: true
    name: linear
    type: streamable_http
    uri: https://mcp.linear.app/mcp
    headers:
      Authorization: Bearer lin_api_xyz
    timeout: 300

GOOSE_TELEMETRY_ENABLED: false   # no telemetry
"#;

fn goose() -> ConfigFile {
    file(App::Goose)
}

fn load(text: &str) -> Yaml {
    YamlLoader::load_from_str(text).unwrap().remove(0)
}

fn y(s: &str) -> Yaml {
    Yaml::String(s.into())
}

#[test]
fn upsert_shape_and_byte_exact_round_trip() {
    let entry = bridge_with_env("keybearer-notion", "con_01");
    let out = upsert_bridge_entries(&goose(), GOOSE, std::slice::from_ref(&entry)).unwrap();
    let doc = load(&out);
    let e = &doc["extensions"]["keybearer-notion"];
    assert_eq!(e["enabled"], Yaml::Boolean(true));
    assert_eq!(e["type"], y("stdio"));
    assert_eq!(e["name"], y("keybearer-notion"));
    assert_eq!(e["cmd"], y(KB));
    let args: Vec<&str> = e["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
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
    assert_eq!(e["envs"]["KEYBEARER_PROFILE"], y("work"));
    assert_eq!(e["envs"]["LOG_LEVEL"], y("warn"));
    assert_eq!(e["timeout"], Yaml::Integer(300));
    // Last in `extensions`, before the blank line and the next setting.
    let keys: Vec<&str> = doc["extensions"]
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["developer", "github", "linear", "keybearer-notion"]);
    assert!(out.contains("    timeout: 300\n  keybearer-notion:\n    enabled: true\n"));
    assert!(out.ends_with("    timeout: 300\n\nGOOSE_TELEMETRY_ENABLED: false   # no telemetry\n"));
    assert_only_inserted(GOOSE, &out);
    assert_comments_kept(GOOSE, &out, "#");
    assert_eq!(
        upsert_bridge_entries(&goose(), &out, &[entry]).unwrap(),
        out
    );
    assert_eq!(
        remove_connection_entries(&goose(), &out, "con_01").unwrap(),
        GOOSE
    );
}

#[test]
fn reads_every_kind_of_extension() {
    let listed = list_servers(&goose(), GOOSE).unwrap();
    assert_eq!(listed.len(), 3);
    assert!(matches!(&listed[0].transport, Transport::Other { kind } if kind.contains("builtin")));
    match &listed[1].transport {
        Transport::Stdio(s) => {
            assert_eq!(s.command, "npx");
            assert_eq!(s.args, ["-y", "@modelcontextprotocol/server-github"]);
            assert_eq!(s.env[0].0, "GITHUB_PERSONAL_ACCESS_TOKEN");
        }
        other => panic!("{other:?}"),
    }
    match &listed[2].transport {
        Transport::Remote(r) => {
            assert_eq!(r.url, "https://mcp.linear.app/mcp");
            assert_eq!(r.transport, Some(RemoteTransport::Http));
            assert_eq!(r.headers[0].1, "Bearer lin_api_xyz");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn follows_the_files_indentation_and_line_ends() {
    let four =
        "extensions:\n    one:\n        type: stdio\n        cmd: a\n        args: []\nother: 1\n";
    let out = upsert_bridge_entries(&goose(), four, &[bridge("kb", "con_1")]).unwrap();
    assert!(
        out.contains("        args: []\n    kb:\n        enabled: true\n"),
        "{out}"
    );
    assert!(
        out.contains("        args:\n            - \"bridge\"\n"),
        "{out}"
    );
    assert_eq!(
        remove_connection_entries(&goose(), &out, "con_1").unwrap(),
        four
    );

    let crlf = GOOSE.replace('\n', "\r\n");
    let out = upsert_bridge_entries(&goose(), &crlf, &[bridge("kb", "con_1")]).unwrap();
    assert_eq!(out.matches('\n').count(), out.matches("\r\n").count());
    assert_eq!(
        remove_connection_entries(&goose(), &out, "con_1").unwrap(),
        crlf
    );
}

#[test]
fn empty_forms_of_extensions() {
    // `{}` (what goose itself writes when empty) round-trips exactly.
    let empty = "GOOSE_MODEL: x\nextensions: {}\nGOOSE_MODE: auto\n";
    let out = upsert_bridge_entries(&goose(), empty, &[bridge("kb", "con_1")]).unwrap();
    assert!(
        out.starts_with("GOOSE_MODEL: x\nextensions:\n  kb:\n"),
        "{out}"
    );
    assert!(out.ends_with("    timeout: 300\nGOOSE_MODE: auto\n"));
    assert_eq!(
        remove_connection_entries(&goose(), &out, "con_1").unwrap(),
        empty
    );

    for text in [
        "extensions: ~ # none yet\n",
        "extensions:\n",
        "extensions: null",
    ] {
        let out = upsert_bridge_entries(&goose(), text, &[bridge("kb", "con_1")]).unwrap();
        assert_eq!(list_servers(&goose(), &out).unwrap().len(), 1, "{text}");
        let back = remove_connection_entries(&goose(), &out, "con_1").unwrap();
        assert_eq!(
            load(&back)["extensions"],
            Yaml::Hash(Default::default()),
            "{back}"
        );
    }
    assert!(
        upsert_bridge_entries(&goose(), "extensions: ~ # none yet\n", &[bridge("kb", "c")])
            .unwrap()
            .starts_with("extensions: # none yet\n  kb:\n")
    );

    // No `extensions` key, no file, comments only.
    for text in ["", "GOOSE_MODEL: x", "# just a comment\n"] {
        let out = upsert_bridge_entries(&goose(), text, &[bridge("kb", "con_1")]).unwrap();
        assert!(out.starts_with(text));
        assert!(out.contains("extensions:\n  kb:\n"), "{out}");
        assert_eq!(list_servers(&goose(), &out).unwrap().len(), 1);
    }
}

#[test]
fn last_entry_without_final_newline() {
    let text = "extensions:\n  one:\n    type: stdio\n    cmd: a\n    args: []";
    let out = upsert_bridge_entries(&goose(), text, &[bridge("kb", "con_1")]).unwrap();
    assert!(
        out.starts_with("extensions:\n  one:\n    type: stdio\n    cmd: a\n    args: []\n  kb:\n")
    );
    assert_eq!(list_servers(&goose(), &out).unwrap().len(), 2);
    // Replacing the last entry keeps the missing final newline.
    let import = replace_with_bridge(
        &goose(),
        text,
        &BridgeEntry::new("one", KB, "c", "https://x"),
    )
    .unwrap();
    assert!(import.ends_with("timeout: 300"));
}

#[test]
fn names_that_need_quotes() {
    let text = "extensions:\n  \"my server\":\n    type: stdio\n    cmd: a\n    args: []\n";
    let entries = [
        bridge("two words", "con_1"),
        bridge("yes", "con_1"),
        bridge("ok-name_2", "con_1"),
    ];
    let out = upsert_bridge_entries(&goose(), text, &entries).unwrap();
    assert!(out.contains("\n  \"two words\":\n"));
    assert!(out.contains("\n  \"yes\":\n"));
    assert!(out.contains("\n  ok-name_2:\n"));
    let names: Vec<String> = list_servers(&goose(), &out)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["my server", "two words", "yes", "ok-name_2"]);
    assert_eq!(
        remove_connection_entries(&goose(), &out, "con_1").unwrap(),
        text
    );
    let out = remove_entries(&goose(), text, &["my server"]).unwrap();
    assert_eq!(out, "extensions: {}\n");
}

#[test]
fn unusual_layouts_are_refused_and_nothing_changes() {
    let cases = [
        ("extensions: {dev: {type: builtin}}\n", "unsupported_layout"),
        ("a: 1\n---\nextensions: {}\n", "unsupported_layout"),
        (
            "extensions: &ext\n  one:\n    type: stdio\n",
            "unsupported_layout",
        ),
        ("extensions:\n  - one\n", "not_an_object"),
        ("- a\n- b\n", "not_an_object"),
        ("extensions:\n  one: [1, 2\nother: 3\n", "config_unreadable"),
        (
            "extensions:\n  one:\n    type: stdio\n   bad: x\n",
            "config_unreadable",
        ),
        // A line ending in a lone carriage return: YAML breaks the line
        // there, the editor's line positions would not (found by the fuzz
        // target settings_yaml, as an index past the end).
        (
            "a: 1\rb: 2\nextensions:\n  one:\n    type: stdio\n",
            "unsupported_layout",
        ),
    ];
    for (text, code) in cases {
        let err = upsert_bridge_entries(&goose(), text, &[bridge("kb", "c")]).unwrap_err();
        assert_eq!(err.code(), code, "{text}");
        assert!(
            err.to_string()
                .contains("Keybearer has not changed the file"),
            "{err}"
        );
    }
    let err = list_servers(&goose(), "extensions:\n  one: [1, 2\nother: 3\n").unwrap_err();
    assert!(err.to_string().contains("line "), "{err}");
}

#[test]
fn collisions_and_lookalikes() {
    let err = upsert_bridge_entries(&goose(), GOOSE, &[bridge("github", "c")]).unwrap_err();
    assert_eq!(err.code(), "name_taken");
    let ours = upsert_bridge_entries(&goose(), GOOSE, &[bridge("kb", "con_1")]).unwrap();
    let err = upsert_bridge_entries(&goose(), &ours, &[bridge("kb", "con_2")]).unwrap_err();
    assert_eq!(err.code(), "name_taken_by_connection");
    // A look-alike for another connection survives removal of con_1.
    let both = upsert_bridge_entries(&goose(), &ours, &[bridge("kb2", "con_2")]).unwrap();
    let out = remove_connection_entries(&goose(), &both, "con_1").unwrap();
    let names: Vec<String> = list_servers(&goose(), &out)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["developer", "github", "linear", "kb2"]);
}

#[test]
fn import_replaces_in_place() {
    let entry = BridgeEntry::new("linear", KB, "con_04", "https://mcp.linear.app/mcp");
    let out = replace_with_bridge(&goose(), GOOSE, &entry).unwrap();
    assert!(!out.contains("lin_api_xyz"));
    let start = GOOSE.find("  linear:\n").unwrap();
    assert!(out.starts_with(&GOOSE[..start]));
    assert!(out.ends_with("\n\nGOOSE_TELEMETRY_ENABLED: false   # no telemetry\n"));
    let listed = list_servers(&goose(), &out).unwrap();
    assert!(listed[2].is_ours("con_04"));
    let err = replace_with_bridge(&goose(), GOOSE, &bridge("nope", "c")).unwrap_err();
    assert_eq!(err.code(), "entry_not_found");
}

#[test]
fn replacing_a_middle_entry_keeps_neighbours_and_comments() {
    let entry = BridgeEntry::new("github", KB, "con_04", "https://api.githubcopilot.com/mcp/");
    let out = replace_with_bridge(&goose(), GOOSE, &entry).unwrap();
    assert!(out.contains("  # GitHub, added by hand\n  github:\n    enabled: true\n"));
    assert!(!out.contains("ghp_example"));
    assert!(out.contains("    timeout: 300\n  linear:\n    enabled: true\n    name: linear\n"));
}
