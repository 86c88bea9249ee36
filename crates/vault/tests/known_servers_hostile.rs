//! Hostile or broken MCP Registry answers (a real local HTTP server,
//! `tests/registry-peer`): not JSON, the wrong shape, too big, an error
//! status, a redirect, a closed connection, no answer, a body that never
//! ends, a bad second page — each refused with nothing changed (the cache
//! byte for byte, the catalog, the built-in servers); bad servers in an
//! accepted page skipped with their reasons, never replacing a built-in one.

mod support;

use std::time::{Duration, Instant};

use keybearer_vault::{ErrorCode, Refresh};
use serde_json::{json, Value};
use support::known_servers::{age, assert_built_in_intact, good_pages, ids, refreshed, CACHE};
use support::registry_peer::{page, server, RegistryPeer};

/// Each refused answer: the refresh fails with a plain reason, the cache
/// file is byte for byte what it was, and the catalog is unchanged.
#[test]
fn refused_answers_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let before = std::fs::read(dir.path().join(CACHE)).expect("cache");
    let catalog_before = engine.known_servers().catalog();
    let refresher = engine.known_servers().refresher().expect("refresher");

    let mut huge = String::from(r#"{"servers": [], "padding": ""#);
    huge.push_str(&"x".repeat(9 * 1024 * 1024));
    huge.push_str(r#""}"#);
    let mut bad_second = good_pages();
    bad_second[1] = json!({ "text": "{\"servers\": [" });
    bad_second.truncate(2);
    let cases: Vec<(&str, Vec<Value>, &str, &str)> = vec![
        (
            "not JSON",
            vec![json!({ "text": "<html>Service Unavailable</html>" })],
            "pages",
            "not JSON",
        ),
        (
            "wrong shape",
            vec![json!({ "servers": "none" })],
            "pages",
            "not a list of servers",
        ),
        (
            "wrong types",
            vec![json!({ "servers": [], "metadata": { "nextCursor": 7 } })],
            "pages",
            "not a list of servers",
        ),
        (
            "too big",
            vec![json!({ "text": huge })],
            "pages",
            "bigger than the 8 MiB",
        ),
        ("a bad second page", bad_second, "pages", "not JSON"),
        ("an error status", good_pages(), "status", "HTTP 500"),
        (
            "a redirect to elsewhere",
            good_pages(),
            "redirect",
            "does not follow",
        ),
        (
            "a closed connection",
            good_pages(),
            "close",
            "could not be reached",
        ),
    ];
    for (case, pages, mode, words) in cases {
        peer.serve(&pages);
        peer.mode(mode);
        let error = refresher.refresh(Refresh::Now).expect_err(case);
        assert_eq!(error.code(), ErrorCode::RegistryFailed, "{case}");
        let message = error.to_string();
        assert!(message.contains(words), "{case}: {message}");
        assert!(message.contains(&peer.base), "{case}: {message}");
        assert!(message.contains("Nothing was changed"), "{case}: {message}");
        assert_eq!(
            std::fs::read(dir.path().join(CACHE)).expect("cache"),
            before,
            "{case}: the cache was changed"
        );
        let catalog = engine.known_servers().catalog();
        assert_eq!(catalog, catalog_before, "{case}");
        assert_built_in_intact(&catalog);
    }
    assert_eq!(peer.elsewhere(), 0, "the redirect was followed");

    // No answer at all, and an answer that never ends: the quick refresh
    // (the CLI's, when a day has passed) gives up after its few seconds.
    for mode in ["hang", "drip"] {
        peer.serve(&good_pages());
        peer.mode(mode);
        age(dir.path(), 25);
        let started = Instant::now();
        let error = refresher.refresh(Refresh::Quick).expect_err(mode);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(15), "{mode}: {took:?}");
        assert!(
            error.to_string().contains("within 5 seconds"),
            "{mode}: {error}"
        );
        let now = std::fs::read(dir.path().join(CACHE)).expect("cache");
        let mut stored: Value = serde_json::from_slice(&now).expect("json");
        let mut original: Value = serde_json::from_slice(&before).expect("json");
        stored["fetched_at"] = json!(0);
        original["fetched_at"] = json!(0);
        assert_eq!(stored, original, "{mode}: the cache was changed");
        assert_eq!(engine.known_servers().catalog(), catalog_before, "{mode}");
        // The try counts: not asked again within the day.
        assert!(!refresher.due(), "{mode}");
    }
}

#[test]
fn bad_servers_are_skipped_with_reasons_and_cannot_take_a_built_in_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let refresher = engine.known_servers().refresher().expect("refresher");

    let mut servers = vec![
        server("com.example/evil", "Evil", "javascript:alert(1)"),
        server("com.example/plain", "Plain", "http://plain.example.com/mcp"),
        server(
            "com.example/bidi",
            "Pay\u{202e}lapyap",
            "https://bidi.example.com/mcp",
        ),
        // A look-alike claiming GitHub's address and registry name.
        server(
            "io.github.github/github-mcp-server",
            "GitHub (official!)",
            "https://api.githubcopilot.com/mcp/",
        ),
        server(
            "com.example/fake-github",
            "GitHub",
            "https://api.githubcopilot.com/mcp/",
        ),
        server("com.example/fine", "Fine", "https://fine.example.com/mcp"),
    ];
    // Then 10,000 more: only the page's first 500 servers are read.
    servers.extend((0..10_000).map(|index| {
        server(
            &format!("com.example/bulk-{index}"),
            &format!("Bulk {index}"),
            &format!("https://bulk-{index}.example.com/mcp"),
        )
    }));
    peer.serve(&[page(servers, None)]);
    let report = refresher
        .refresh(Refresh::Now)
        .expect("accepted")
        .expect("report");
    let reasons: Vec<String> = report
        .skipped
        .iter()
        .map(|skip| format!("{}: {}", skip.server, skip.reason))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].contains("evil") && reasons[0].contains("https"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("plain"), "{reasons:?}");
    assert!(
        reasons[2].contains("bidi") && reasons[2].contains("invisible"),
        "{reasons:?}"
    );
    // The look-alike with GitHub's address after it on the page.
    assert!(reasons[3].contains("fake-github"), "{reasons:?}");
    assert_eq!(report.received, 500 - 4);
    assert!(report.known <= 500);

    let catalog = engine.known_servers().catalog();
    assert_built_in_intact(&catalog);
    let registry = ids(&catalog);
    assert!(registry.contains(&"com.example/fine".to_string()));
    for gone in [
        "com.example/evil",
        "com.example/plain",
        "com.example/bidi",
        "com.example/fake-github",
    ] {
        assert!(!registry.contains(&gone.to_string()), "{gone}");
    }
    assert!(!registry.contains(&"com.example/bulk-9999".to_string()));
    // A full refresh replaces the list: the first refresh's servers are gone.
    assert!(!registry.contains(&"com.example/tasks".to_string()));
}
