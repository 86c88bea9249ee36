//! `keybearer credential test` end to end: the real binary, a real Secret
//! Service (`scripts/with-secret-service.sh`) and real MCP servers from the
//! official Python SDK, which speaks 2026-07-28 on Streamable HTTP and the
//! 2025 handshake on legacy SSE.

#![cfg(unix)]

mod support;

use serde_json::Value;
use support::session::{start_mcp_server, token, Home};

/// `credential test`'s status when a credential failed its test (see its help).
const TEST_FAILED: i32 = 10;

fn credential_ids(h: &Home, vault: &str) -> Vec<String> {
    h.run(&["--json", "credential", "list", "--vault", vault], "")
        .code(0)
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|credential| credential["id"].as_str().expect("id").to_string())
        .collect()
}

fn by_id<'a>(results: &'a [Value], id: &str) -> &'a Value {
    results
        .iter()
        .find(|result| result["credential_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {results:?}"))
}

#[test]
fn credentials_are_tested_one_by_one_or_all_together() {
    let h = Home::new();
    let secret = token("tested");
    let wrong = token("wrong");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    let good = h.vault("Good", "development");
    h.add(&good, &http.url, "streamable_http", &secret);
    h.add(&good, &sse.url, "sse", &secret);
    let stale = h.vault("Stale", "development");
    h.add(&stale, &http.url, "streamable_http", &wrong);
    let good_ids = credential_ids(&h, "Good");
    let http_id = good_ids
        .iter()
        .find(|id| {
            h.run(&["--json", "credential", "list", "--vault", "Good"], "")
                .json()
                .as_array()
                .expect("array")
                .iter()
                .any(|c| c["id"] == id.as_str() && c["protocol"] == "streamable_http")
        })
        .expect("http credential")
        .clone();
    let sse_id = good_ids
        .iter()
        .find(|id| **id != http_id)
        .expect("sse credential")
        .clone();
    let stale_id = credential_ids(&h, "Stale").remove(0);

    // --all, JSON: every credential of every vault; one failed → status 10.
    let all = h
        .run(&["--json", "credential", "test", "--all"], "")
        .code(TEST_FAILED);
    let results = all.json().as_array().expect("array").clone();
    assert_eq!(results.len(), 3, "{results:?}");
    let ok_http = by_id(&results, &http_id);
    assert_eq!(ok_http["outcome"], "ok", "{ok_http}");
    assert_eq!(ok_http["vault_id"], good.as_str());
    assert_eq!(ok_http["url"], http.url.as_str());
    assert_eq!(ok_http["protocol_version"], "2026-07-28");
    assert_eq!(ok_http["http_status"], 200);
    assert_eq!(ok_http["server_name"], "keybearer-test-server");
    let ok_sse = by_id(&results, &sse_id);
    assert_eq!(ok_sse["outcome"], "ok", "{ok_sse}");
    assert_eq!(ok_sse["protocol_version"], "2025-11-25");
    let refused = by_id(&results, &stale_id);
    assert_eq!(refused["outcome"], "unauthorized", "{refused}");
    assert_eq!(refused["vault_id"], stale.as_str());
    assert_eq!(refused["http_status"], 401);
    assert_eq!(refused["protocol_version"], Value::Null);
    assert!(refused["message"]
        .as_str()
        .expect("message")
        .contains("rejected the token"));
    for result in &results {
        let keys: Vec<&str> = result
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.len(),
            8,
            "credential_id, vault_id, url, outcome, message, protocol_version, http_status, server_name: {keys:?}"
        );
    }

    // --all for people: one line per credential under a header.
    let table = h
        .run(&["credential", "test", "--all"], "")
        .code(TEST_FAILED);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout);
    assert!(lines[0].starts_with("VAULT"), "{}", table.stdout);
    let stale_line = lines
        .iter()
        .find(|line| line.starts_with("Stale"))
        .expect("Stale line");
    assert!(stale_line.contains(&http.url) && stale_line.contains("unauthorized"));

    // One credential by id: status 0, and the revision is named.
    let one = h.run(&["credential", "test", &http_id], "").code(0);
    assert!(one.stdout.contains("Good"), "{}", one.stdout);
    assert!(one.stdout.contains(&http.url), "{}", one.stdout);
    assert!(one.stdout.contains("(MCP 2026-07-28)"), "{}", one.stdout);
    let one_sse = h
        .run(&["--json", "credential", "test", &sse_id], "")
        .code(0)
        .json();
    assert_eq!(one_sse[0]["protocol_version"], "2025-11-25");
    // The refused one alone fails too.
    h.run(&["credential", "test", &stale_id], "")
        .code(TEST_FAILED);

    // --vault limits --all (and implies it).
    let good_only = h
        .run(&["--json", "credential", "test", "--vault", "Good"], "")
        .code(0)
        .json();
    assert_eq!(good_only.as_array().expect("array").len(), 2);
    h.run(&["credential", "test", "--all", "--vault", "Stale"], "")
        .code(TEST_FAILED);

    // Misuse and unknown ids: the usual statuses.
    h.run(&["credential", "test"], "").code(2);
    h.run(&["credential", "test", &http_id, "--all"], "")
        .code(2);
    h.run(&["credential", "test", "cred_doesnotexist"], "")
        .code(3);
    h.run(&["credential", "test", "--vault", "Nope"], "")
        .code(3);

    // The audit trail records each test.
    let events = h.run(&["--json", "events", "--limit", "100"], "").code(0);
    assert!(
        events.stdout.contains("credential.tested"),
        "{}",
        events.stdout
    );

    h.assert_nowhere(&secret);
    h.assert_nowhere(&wrong);
}

#[test]
fn an_empty_home_has_nothing_to_test() {
    let h = Home::new();
    let run = h.run(&["credential", "test", "--all"], "").code(0);
    assert!(
        run.stdout.contains("No credentials to test."),
        "{}",
        run.stdout
    );
    let json = h
        .run(&["--json", "credential", "test", "--all"], "")
        .code(0);
    assert_eq!(json.json(), serde_json::json!([]));
}
