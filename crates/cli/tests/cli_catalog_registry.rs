//! `keybearer catalog` with the MCP Registry, as a user runs it, against a
//! real local HTTP server answering like the registry
//! (`tests/registry-peer`), its address set with `keybearer settings
//! registry`: `--refresh` reads every page and says what came and what was
//! skipped and why; `catalog` then lists the registry's servers under the
//! built-in ones and asks the registry at most once a day (the peer counts
//! requests), and then only for the changes; hostile answers and a registry
//! that never answers leave the list as it was; offline, the cached list;
//! and a server only the registry knows is added with `credential add
//! --server ID`: signed in with OAuth (the OAuth test peer, the browser
//! played by curl), or with a token when it offers no OAuth.

#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::oauth::{signing_in, start_peer};
use support::registry_peer::{fixture, page, server, RegistryPeer};
use support::session::{start_mcp_server, token, Home};

/// Fixture pages 1 and 2 (real servers, all built in), and a third page
/// with a server only the registry knows and two bad ones.
fn good_pages(extra: Vec<Value>) -> Vec<Value> {
    let first = fixture("registry_page_1.json");
    let mut second = fixture("registry_page_2.json");
    second["metadata"]["nextCursor"] = json!("page-3");
    let mut servers = vec![
        server(
            "com.example/tasks",
            "Example Tasks",
            "https://tasks.example.com/mcp",
        ),
        server(
            "com.example/evil",
            "Evil",
            "javascript:alert(document.cookie)",
        ),
        server("com.example/plain", "Plain", "http://plain.example.com/mcp"),
    ];
    servers.extend(extra);
    vec![first, second, page(servers, None)]
}

/// A set-up home whose registry is `peer`.
fn home_with(peer: &RegistryPeer) -> Home {
    let h = Home::new();
    h.run(&["settings", "registry", &peer.base], "").ok();
    h
}

fn entry<'a>(entries: &'a Value, id: &str) -> Option<&'a Value> {
    entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|entry| entry["id"] == id)
}

/// Makes the last try and the cached list a day and an hour older.
fn age(data: &Path) {
    for (file, key) in [
        ("registry-checked.json", "checked_at"),
        ("registry-cache.json", "fetched_at"),
    ] {
        let path = data.join(file);
        let mut value: Value =
            serde_json::from_slice(&std::fs::read(&path).expect(file)).expect("json");
        let at = value[key].as_i64().expect(key);
        value[key] = json!(at - 25 * 3_600_000);
        std::fs::write(&path, serde_json::to_vec(&value).expect("json")).expect("write");
    }
}

#[test]
fn refresh_says_what_came_and_the_catalog_asks_at_most_once_a_day() {
    let peer = RegistryPeer::start();
    peer.serve(&good_pages(vec![]));
    let h = home_with(&peer);
    let shown = h.run(&["--json", "settings", "registry"], "").ok().json();
    assert_eq!(shown, json!({ "registry": peer.base, "official": false }));

    // No list read yet: the built-in servers, and how to add the registry's.
    let before = h.run(&["catalog"], "").ok();
    assert!(
        before.stdout.contains("catalog --refresh"),
        "{}",
        before.stdout
    );
    assert_eq!(
        peer.list_requests(),
        0,
        "no whole list is fetched by itself"
    );

    let refreshed = h.run(&["catalog", "--refresh"], "").ok();
    let said = &refreshed.stdout;
    assert!(
        said.contains("Read 3 pages from the MCP Registry at"),
        "{said}"
    );
    assert!(said.contains("12 usable servers, 4 skipped"), "{said}");
    assert!(said.contains("lists 1 of them beside the"), "{said}");
    assert!(said.contains("\"com.example/evil\": address"), "{said}");
    assert!(said.contains("must start with https://"), "{said}");
    assert!(said.contains("runs only on the user's computer"), "{said}");
    assert_eq!(peer.list_requests(), 3);

    let report = h.run(&["--json", "catalog", "--refresh"], "").ok().json();
    assert_eq!(report["kind"], "full");
    assert_eq!(report["pages"], 3);
    assert_eq!(report["received"], 12);
    assert_eq!(report["skipped"].as_array().expect("skipped").len(), 4);
    assert_eq!(peer.list_requests(), 6);

    // The catalog: the registry's server under the built-in ones.
    let all = h.run(&["--json", "catalog"], "").ok().json();
    let tasks = entry(&all, "com.example/tasks").expect("tasks");
    assert_eq!(tasks["origin"], "registry");
    assert_eq!(tasks["sign_in"], json!([{ "kind": "discover" }]));
    assert_eq!(entry(&all, "github").expect("github")["origin"], "shipped");
    assert!(entry(&all, "io.github.github/github-mcp-server").is_none());
    assert!(entry(&all, "com.example/evil").is_none());
    let listed = h.run(&["catalog"], "").ok();
    assert!(
        listed.stdout.contains("1 from the MCP Registry at"),
        "{}",
        listed.stdout
    );
    let found = h.run(&["catalog", "tasks"], "").ok();
    assert!(
        found.stdout.contains("com.example/tasks"),
        "{}",
        found.stdout
    );
    // Within the day: not asked again.
    assert_eq!(peer.list_requests(), 6);

    // A day later: one request for the changes since the cached list.
    age(&h.path("data"));
    peer.serve(&[page(
        vec![server(
            "com.example/new",
            "Example New",
            "https://new.example.com/mcp",
        )],
        None,
    )]);
    let updated = h.run(&["--json", "catalog"], "").ok();
    assert!(
        updated
            .stderr
            .contains("Updated the servers of the MCP Registry"),
        "{}",
        updated.stderr
    );
    let all = updated.json();
    assert!(entry(&all, "com.example/new").is_some());
    assert!(entry(&all, "com.example/tasks").is_some());
    assert_eq!(peer.list_requests(), 7);
    let last = peer.requests().pop().expect("request");
    assert!(last["query"]["updated_since"].is_string(), "{last}");
    h.run(&["catalog"], "").ok();
    h.run(&["catalog", "github"], "").ok();
    assert_eq!(peer.list_requests(), 7, "once a day");
}

#[test]
fn hostile_answers_and_a_silent_registry_leave_the_list_as_it_was() {
    let peer = RegistryPeer::start();
    peer.serve(&good_pages(vec![]));
    let h = home_with(&peer);
    h.run(&["catalog", "--refresh"], "").ok();
    let cache = h.path("data").join("registry-cache.json");
    let before = std::fs::read(&cache).expect("cache");
    let listed_before = h.run(&["--json", "catalog"], "").ok().json();

    for (pages, mode, words) in [
        (
            vec![json!({ "text": "<html>Bad Gateway</html>" })],
            "pages",
            "not JSON",
        ),
        (
            vec![json!({ "servers": { "a": 1 } })],
            "pages",
            "not a list of servers",
        ),
        (good_pages(vec![]), "redirect", "does not follow"),
        (good_pages(vec![]), "status", "HTTP 500"),
    ] {
        peer.serve(&pages);
        peer.mode(mode);
        let refused = h.run(&["catalog", "--refresh"], "").code(13);
        assert!(refused.stderr.contains(words), "{mode}: {}", refused.stderr);
        assert!(
            refused.stderr.contains("Nothing was changed"),
            "{}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains("keybearer settings registry"),
            "the hint: {}",
            refused.stderr
        );
        assert_eq!(std::fs::read(&cache).expect("cache"), before, "{mode}");
        assert_eq!(
            h.run(&["--json", "catalog"], "").ok().json(),
            listed_before,
            "{mode}"
        );
    }
    assert_eq!(peer.elsewhere(), 0, "a redirect was followed");

    // A day later the registry never answers: `catalog` waits its few
    // seconds, says so in one line, and lists what it knows.
    peer.mode("hang");
    age(&h.path("data"));
    let requests = peer.list_requests();
    let started = Instant::now();
    let listed = h.run(&["--json", "catalog"], "").ok();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        listed.stderr.contains("within 5 seconds"),
        "{}",
        listed.stderr
    );
    assert!(entry(&listed.json(), "com.example/tasks").is_some());
    assert_eq!(peer.list_requests(), requests + 1);
    // The try counts: the next command does not wait again.
    let started = Instant::now();
    h.run(&["catalog"], "").ok();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(peer.list_requests(), requests + 1);
}

#[test]
fn offline_the_cached_list_is_listed() {
    let peer = RegistryPeer::start();
    peer.serve(&good_pages(vec![]));
    let h = home_with(&peer);
    h.run(&["catalog", "--refresh"], "").ok();
    drop(peer); // its port is closed now

    let refused = h.run(&["catalog", "--refresh"], "").code(13);
    assert!(
        refused.stderr.contains("could not be reached"),
        "{}",
        refused.stderr
    );
    age(&h.path("data"));
    let listed = h.run(&["--json", "catalog"], "").ok();
    assert!(
        listed.stderr.contains("could not be reached"),
        "{}",
        listed.stderr
    );
    let all = listed.json();
    assert!(entry(&all, "com.example/tasks").is_some());
    assert!(entry(&all, "github").is_some());
    // Back to the official registry: its list is not cached, the built-in one is used.
    h.run(&["settings", "registry", "--reset"], "").ok();
    let all = h.run(&["--json", "catalog"], "").ok().json();
    assert!(entry(&all, "com.example/tasks").is_none());
    assert!(entry(&all, "github").is_some());
}

#[test]
fn the_registry_address_must_be_https_or_this_computer() {
    let h = Home::new();
    for refused in [
        "http://registry.example.com",
        "javascript:alert(1)",
        "ftp://example.com",
    ] {
        let run = h.run(&["settings", "registry", refused], "").code(2);
        assert!(run.stderr.contains("https://"), "{refused}: {}", run.stderr);
    }
    let shown = h.run(&["settings", "registry"], "").ok();
    assert!(
        shown
            .stdout
            .contains("https://registry.modelcontextprotocol.io (the official MCP Registry)"),
        "{}",
        shown.stdout
    );
}

#[test]
fn a_server_only_the_registry_knows_signs_in_with_oauth_or_takes_a_token() {
    let oauth = start_peer("60", &[]);
    let secret = token("registry-listed");
    let plain = start_mcp_server("streamable_http", &secret);
    let peer = RegistryPeer::start();
    peer.serve(&good_pages(vec![
        server("io.example/signs-in", "Signs In", &oauth.url),
        server("io.example/takes-a-token", "Takes a Token", &plain.url),
    ]));
    let h = home_with(&peer);
    h.run(&["catalog", "--refresh"], "").ok();
    h.vault("Work", "development");

    // OAuth: the server is asked how it signs in, then the browser.
    let (added, _) = signing_in(
        &h,
        &[
            "--json",
            "credential",
            "add",
            "--vault",
            "Work",
            "--server",
            "io.example/signs-in",
        ],
    );
    assert_eq!(added["type"], "mcp_oauth");
    assert_eq!(added["mcp_server_url"], oauth.url.as_str());
    assert_eq!(added["protocol"], "streamable_http");
    assert!(oauth.stat("code_exchanges") >= 1);

    // No OAuth offered: a token, read from standard input.
    let run = h
        .run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--server",
                "io.example/takes-a-token",
            ],
            &format!("{secret}\n"),
        )
        .ok();
    assert!(run.stderr.contains("paste its token"), "{}", run.stderr);
    let added = run.json();
    assert_eq!(added["type"], "static_bearer");
    assert_eq!(added["mcp_server_url"], plain.url.as_str());
    let tested = h
        .run(
            &[
                "--json",
                "credential",
                "test",
                added["id"].as_str().expect("id"),
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(tested[0]["outcome"], "ok", "{tested}");
    h.assert_nowhere(&secret);
}
