//! `keybearer catalog` and `credential add --server ID` as a user runs them:
//! the shipped catalog listed and searched (also when the data folder
//! cannot be opened), a
//! server added by its catalog id with the address and transport the
//! catalog gives (a token server prints where the token is made, then
//! reads it like any token, which is stored nowhere in the clear), and the
//! cases that cannot go ahead refused before anything is read or stored:
//! an OAuth-app server without `--client-id`, an unknown id, `--server`
//! with `--url`. Nothing here reaches the servers: adding does not probe.

#![cfg(unix)]

mod support;

use serde_json::Value;
use support::session::{token, Home};

fn entry<'a>(entries: &'a Value, id: &str) -> &'a Value {
    entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|entry| entry["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {entries}"))
}

#[test]
fn the_catalog_lists_and_searches_known_servers() {
    let h = Home::new();
    let all = h.run(&["--json", "catalog"], "").ok().json();
    assert!(all.as_array().expect("array").len() >= 30, "{all}");
    for id in ["github", "notion", "linear", "sentry"] {
        let found = entry(&all, id);
        assert!(
            found["remotes"][0]["url"]
                .as_str()
                .is_some_and(|url| url.starts_with("https://")),
            "{found}"
        );
    }
    // By what it is for, whatever the case.
    let issues = h.run(&["catalog", "ISSUES"], "").ok();
    assert!(issues.stdout.contains("linear"), "{}", issues.stdout);
    assert!(
        issues.stdout.contains("WHAT IT IS FOR"),
        "{}",
        issues.stdout
    );
    let none = h.run(&["catalog", "no-such-server-anywhere"], "").ok();
    assert!(none.stdout.contains("--url"), "{}", none.stdout);
}

#[test]
fn the_built_in_servers_are_listed_when_the_data_folder_cannot_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_a_folder = dir.path().join("file");
    std::fs::write(&not_a_folder, "not a folder").expect("write");
    let run = std::process::Command::new(support::BIN)
        .arg("--data-dir")
        .arg(&not_a_folder)
        .args(["--json", "catalog", "github"])
        .output()
        .expect("keybearer");
    assert!(run.status.success(), "{run:?}");
    let found: Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(entry(&found, "github")["origin"], "shipped");
    let note = String::from_utf8_lossy(&run.stderr);
    assert!(
        note.contains("Only the servers built into Keybearer"),
        "{note}"
    );
}

#[test]
fn a_token_server_is_added_by_its_catalog_id() {
    let h = Home::new();
    h.vault("Work", "development");
    let catalog = h.run(&["--json", "catalog", "github"], "").ok().json();
    let github = entry(&catalog, "github");
    let secret = token("github-pat");
    let added = h
        .run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "github",
            ],
            &format!("{secret}\n"),
        )
        .ok();
    let credential = added.json();
    assert_eq!(credential["mcp_server_url"], github["remotes"][0]["url"]);
    assert_eq!(credential["protocol"], "streamable_http");
    assert_eq!(credential["type"], "static_bearer");
    // Where the token is made, before it is asked for.
    assert!(
        added.stderr.contains("https://github.com/settings/tokens"),
        "{}",
        added.stderr
    );
    h.assert_nowhere(&secret);
}

#[test]
fn what_cannot_go_ahead_is_refused_before_anything_is_read() {
    let h = Home::new();
    h.vault("Work", "development");
    // GitHub signs in only with an OAuth app the user made.
    let refused = h
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "github",
                "--oauth",
            ],
            "",
        )
        .code(2);
    assert!(
        refused.stderr.contains("--client-id")
            && refused
                .stderr
                .contains("https://github.com/settings/applications/new"),
        "{}",
        refused.stderr
    );
    let unknown = h
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "no-such",
            ],
            "tok\n",
        )
        .code(2);
    assert!(
        unknown.stderr.contains("keybearer catalog"),
        "{}",
        unknown.stderr
    );
    let both = h.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--server",
            "github",
            "--url",
            "https://api.githubcopilot.com/mcp/",
        ],
        "",
    );
    assert_ne!(both.code, 0);
    let listed = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(listed, serde_json::json!([]), "nothing was stored");
}
