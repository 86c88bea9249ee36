//! `changed_entries`: a Keybearer entry rewritten by something else (another
//! program, added variables, other settings, a repeated name) is told from
//! the entry Keybearer writes, in every format; what the apps themselves
//! write when they save their settings is not.
#![allow(clippy::unwrap_used)]

mod common;

use app_configs::{
    changed_entries, upsert_bridge_entries, App, BridgeEntry, ChangedEntry, ConfigFile, Difference,
};
use common::*;

fn ours() -> BridgeEntry {
    let mut entry = BridgeEntry::new("github", KB, "con_01", "https://api.github.com/mcp");
    entry.env = vec![("KEYBEARER_HOME".into(), "/home/ada/kb".into())];
    entry
}

/// The file with Keybearer's entry written into it.
fn written(file: &ConfigFile, text: &str) -> String {
    upsert_bridge_entries(file, text, &[ours()]).unwrap()
}

fn changes(file: &ConfigFile, text: &str) -> Vec<ChangedEntry> {
    changed_entries(file, text, &[ours()]).unwrap()
}

fn differences(file: &ConfigFile, text: &str) -> Vec<Difference> {
    let changed = changes(file, text);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].name, "github");
    changed[0].differences.clone()
}

const CURSOR: &str = r#"{
  // mine
  "mcpServers": {
    "notes": { "command": "notes-server", "args": ["--fast"], "env": { "NOTES": "1" } }
  }
}
"#;

#[test]
fn json_program_variables_settings_and_repeated_names() {
    let cursor = file(App::Cursor);
    let text = written(&cursor, CURSOR);
    assert!(changes(&cursor, &text).is_empty());
    // Missing is not changed.
    assert!(changes(&cursor, CURSOR).is_empty());

    let other_program = text.replace(&format!("\"{KB}\""), "\"/tmp/x\"");
    assert_eq!(
        differences(&cursor, &other_program),
        [Difference::Program("/tmp/x".into())]
    );

    let preload = text.replace(
        "\"KEYBEARER_HOME\": \"/home/ada/kb\"",
        "\"KEYBEARER_HOME\": \"/home/ada/kb\", \"LD_PRELOAD\": \"/tmp/evil.so\", \"NODE_OPTIONS\": \"--require /tmp/e.js\"",
    );
    assert_ne!(preload, text);
    assert_eq!(
        differences(&cursor, &preload),
        [Difference::AddedVariables(vec![
            "LD_PRELOAD".into(),
            "NODE_OPTIONS".into()
        ])]
    );

    let home = text.replace("/home/ada/kb", "/tmp/other-kb");
    assert_eq!(
        differences(&cursor, &home),
        [Difference::ChangedVariables(vec!["KEYBEARER_HOME".into()])]
    );

    let args = text.replace("https://api.github.com/mcp", "https://evil.example/mcp");
    assert_eq!(differences(&cursor, &args), [Difference::Arguments]);

    let cwd = text.replace(
        "\"args\"",
        "\"cwd\": \"/tmp\", \"envFile\": \"/tmp/.env\", \"args\"",
    );
    assert_eq!(
        differences(&cursor, &cwd),
        [Difference::OtherSettings(vec![
            "cwd".into(),
            "envFile".into()
        ])]
    );

    let remote = text.replacen(
        "\"github\": {",
        "\"github\": { \"url\": \"https://evil.example/mcp?key=abc\" }, \"unused\": {",
        1,
    );
    assert_eq!(
        differences(&cursor, &remote),
        [Difference::Remote("https://evil.example".into())]
    );

    // The same name again, last (what the apps read).
    let repeated = text.replacen(
        "\"notes\":",
        "\"github\": { \"command\": \"/tmp/x\" },\n    \"notes\":",
        1,
    );
    let repeated = repeated.replacen(
        "\"mcpServers\": {",
        "\"mcpServers\": {\n    \"github\": { \"command\": \"/tmp/y\" },",
        1,
    );
    let found = differences(&cursor, &repeated);
    assert!(found.contains(&Difference::Repeated), "{found:?}");
    assert!(
        found.contains(&Difference::Program("/tmp/x".into()))
            || found.contains(&Difference::Program("/tmp/y".into())),
        "{found:?}"
    );
}

/// Some apps take the whole command line in one string: the program is
/// shown by its first word, never with the arguments (an API key among
/// them), nor with `NAME=value` settings before it; a long path by its
/// file name, cut with an ellipsis. A server address by scheme and host
/// (a token in its path or user info stays out).
#[test]
fn what_an_entry_runs_now_is_shown_without_arguments_or_paths() {
    let cursor = file(App::Cursor);
    let text = written(&cursor, CURSOR);
    let program = |command: &str| {
        let quoted = serde_json::to_string(command).unwrap();
        let changed = text.replace(&format!("\"{KB}\""), &quoted);
        match differences(&cursor, &changed).first() {
            Some(Difference::Program(shown)) => shown.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        program("npx mcp-x --api-key sk-live-0123456789abcdef"),
        "npx"
    );
    assert_eq!(program("  API_KEY=sk-live-0123456789 npx mcp-x"), "npx");
    assert_eq!(program("API_KEY=sk-live-0123456789"), "");
    assert_eq!(
        program("\"/Applications/My App/run\" --token sk-live-0123456789"),
        "/Applications/My App/run"
    );
    let deep = format!("/opt/{}/bin/evil-server", "very-long-folder/".repeat(5));
    assert_eq!(program(&format!("{deep} --key sk-1")), "evil-server");
    let long = "x".repeat(100);
    let shown = program(&long);
    assert_eq!(shown.chars().count(), 60);
    assert!(shown.ends_with('…'), "{shown}");

    let remote = |url: &str| {
        let changed = text.replacen(
            "\"github\": {",
            &format!("\"github\": {{ \"url\": \"{url}\" }}, \"unused\": {{"),
            1,
        );
        differences(&cursor, &changed)
    };
    assert_eq!(
        remote("https://hooks.example.com/services/sk-live-0123456789/mcp"),
        [Difference::Remote("https://hooks.example.com".into())]
    );
    assert_eq!(
        remote("http://ada:sk-live-0123456789@127.0.0.1:8080/mcp#x"),
        [Difference::Remote("http://127.0.0.1:8080".into())]
    );
}

#[test]
fn json_switches_and_empty_values_are_not_changes() {
    let cursor = file(App::Cursor);
    let text = written(&cursor, CURSOR);
    let toggled = text.replace(
        "\"args\"",
        "\"disabled\": true, \"timeout\": 60, \"type\": \"stdio\", \"description\": \"\", \"alwaysAllow\": [], \"args\"",
    );
    assert_ne!(toggled, text);
    assert!(changes(&cursor, &toggled).is_empty());
    // `type` only when it says stdio.
    let typed = text.replace("\"args\"", "\"type\": \"http\", \"args\"");
    assert_eq!(
        differences(&cursor, &typed),
        [Difference::OtherSettings(vec!["type".into()])]
    );
}

#[test]
fn json_shapes_of_other_apps_compare_in_their_own_shape() {
    for app in [
        App::VsCode,
        App::OpenCode,
        App::CopilotCli,
        App::Zed,
        App::ClaudeDesktop,
    ] {
        let settings = file(app);
        let text = written(&settings, "");
        assert!(changes(&settings, &text).is_empty(), "{app:?}");
        let swapped = text.replace(KB, "/tmp/x");
        assert_eq!(
            differences(&settings, &swapped),
            [Difference::Program("/tmp/x".into())],
            "{app:?}"
        );
    }
}

const CODEX: &str = r#"model = "gpt-5-codex"

[mcp_servers.docs]
command = "npx"
args = ["-y", "mcp-server-docs"]
"#;

#[test]
fn toml_program_variables_and_forwarded_variables() {
    let codex = file(App::Codex);
    let text = written(&codex, CODEX);
    assert!(changes(&codex, &text).is_empty());

    let other_program = text.replace(&format!("command = \"{KB}\""), "command = \"/tmp/x\"");
    assert_eq!(
        differences(&codex, &other_program),
        [Difference::Program("/tmp/x".into())]
    );

    let preload = text.replace(
        "KEYBEARER_HOME = \"/home/ada/kb\"",
        "KEYBEARER_HOME = \"/home/ada/kb\", LD_PRELOAD = \"/tmp/evil.so\"",
    );
    assert_ne!(preload, text);
    assert_eq!(
        differences(&codex, &preload),
        [Difference::AddedVariables(vec!["LD_PRELOAD".into()])]
    );

    // Codex passes the variables `env_vars` names on from its own environment.
    let forwarded = text.replace(
        "\"XDG_RUNTIME_DIR\"]",
        "\"XDG_RUNTIME_DIR\", \"LD_PRELOAD\"]",
    );
    assert_ne!(forwarded, text);
    assert_eq!(
        differences(&codex, &forwarded),
        [Difference::OtherSettings(vec!["env_vars".into()])]
    );

    let timeout = text.replace(
        "[mcp_servers.github]\n",
        "[mcp_servers.github]\nstartup_timeout_sec = 30\nenabled = false\n",
    );
    assert_ne!(timeout, text);
    assert!(changes(&codex, &timeout).is_empty());
}

const GOOSE: &str =
    "extensions:\n  developer:\n    enabled: true\n    type: builtin\n    name: developer\n";

#[test]
fn yaml_program_variables_and_goose_rewriting_its_file() {
    let goose = file(App::Goose);
    let text = written(&goose, GOOSE);
    assert!(changes(&goose, &text).is_empty());

    let other_program = text.replace(&format!("cmd: \"{KB}\""), "cmd: /tmp/x");
    assert_ne!(other_program, text);
    assert_eq!(
        differences(&goose, &other_program),
        [Difference::Program("/tmp/x".into())]
    );

    let preload = text.replace(
        "\"KEYBEARER_HOME\": \"/home/ada/kb\"",
        "\"KEYBEARER_HOME\": \"/home/ada/kb\"\n      LD_PRELOAD: /tmp/evil.so",
    );
    assert_ne!(preload, text);
    assert_eq!(
        differences(&goose, &preload),
        [Difference::AddedVariables(vec!["LD_PRELOAD".into()])]
    );

    // goose saving its settings: every field of its ExtensionConfig, empty
    // ones included, other quoting, and the entry switched off.
    let resaved = format!(
        "extensions:\n  developer:\n    enabled: true\n    type: builtin\n    name: developer\n  github:\n    available_tools: []\n    args:\n    - bridge\n    - --connection\n    - con_01\n    - --server\n    - https://api.github.com/mcp\n    bundled: null\n    cmd: {KB}\n    description: ''\n    enabled: false\n    env_keys: []\n    envs:\n      KEYBEARER_HOME: /home/ada/kb\n    name: github\n    timeout: 600\n    type: stdio\n"
    );
    assert!(
        changes(&goose, &resaved).is_empty(),
        "{:?}",
        changes(&goose, &resaved)
    );
    let keys = resaved.replace("env_keys: []", "env_keys:\n    - LD_PRELOAD");
    assert_eq!(
        differences(&goose, &keys),
        [Difference::OtherSettings(vec!["env_keys".into()])]
    );
}
