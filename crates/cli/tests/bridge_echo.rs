//! Echoed secrets through `keybearer bridge` (docs/architecture.md, "Echoed
//! secrets"): the official Python SDK server's `echo_headers` tool returns
//! the request's headers, token included, and the official client reaching
//! it through an app's bridge entry (Streamable HTTP and legacy SSE, a
//! bearer token and Basic credentials) reads covers of the same length
//! instead; the trail holds a `credential.echoed` for the connection, never
//! the value.

#![cfg(unix)]

mod support;

use serde_json::Value;
use support::apps::{entry_for, python_client};
use support::session::{sha256_hex, start_mcp_server, start_peer_with_headers, token, Home};

fn echoes(h: &Home, secrets: &[&str]) -> Vec<Value> {
    let events = h
        .run(&["--json", "events", "--limit", "200"], "")
        .ok()
        .json();
    let text = events.to_string();
    for secret in secrets {
        assert!(!text.contains(secret), "a secret in the audit trail");
    }
    events
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["kind"] == "credential.echoed")
        .cloned()
        .collect()
}

/// The echoed headers, as the app read them.
fn echoed_headers(h: &Home, url: &str, secrets: &[&str]) -> Value {
    let entries = h.claude_code_entries();
    let run = python_client(entry_for(&entries, url), &["--tool", "echo_headers"]);
    assert!(run.ok, "{url}: {} {}", run.answer, run.stderr);
    for secret in secrets {
        assert!(
            !run.answer.to_string().contains(secret) && !run.stderr.contains(secret),
            "{url}: the app got the secret"
        );
    }
    serde_json::from_str(run.answer["result"].as_str().expect("text")).expect("still JSON")
}

#[test]
fn an_app_never_reads_an_echoed_token_over_either_transport() {
    let h = Home::new();
    // `/`, `+`, `=`: the characters JSON and URLs may write otherwise.
    let secret = format!("{}/echo+bridge=", token("echo"));
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    for url in [&http.url, &sse.url] {
        let entries = h.claude_code_entries();
        let whoami = python_client(entry_for(&entries, url), &["--tool", "whoami"]);
        assert_eq!(whoami.answer["result"], sha256_hex(&secret), "{url}");
        let headers = echoed_headers(&h, url, &[&secret]);
        let authorization = headers["authorization"].as_str().expect("echoed");
        assert!(
            authorization.starts_with("Bearer [redacted by Keybearer]"),
            "{url}: {authorization}"
        );
        assert_eq!(authorization.len(), "Bearer ".len() + secret.len());
    }
    let echoes = echoes(&h, &[&secret]);
    assert!(echoes.len() >= 2, "one per transport at least: {echoes:?}");
    assert!(echoes
        .iter()
        .all(|event| event["connection_id"].is_string() && event["detail"] == "body"));
    h.assert_nowhere(&secret);
}

#[test]
fn an_app_never_reads_echoed_basic_credentials_plain_or_encoded() {
    let h = Home::new();
    let password = token("basic-password");
    let encoded = data_encoding::BASE64.encode(format!("me@example.com:{password}").as_bytes());
    let basic = format!("Basic {encoded}");
    let server = start_peer_with_headers(&[("Authorization", &basic)]);
    h.vault("Work", "development");
    h.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &server.url,
            "--basic",
            "me@example.com",
        ],
        &format!("{password}\n"),
    )
    .ok();
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    let headers = echoed_headers(&h, &server.url, &[&password, &encoded]);
    let decoded = headers["authorization-decoded"].as_str().expect("decoded");
    assert!(decoded.starts_with("me@example.com:[redacted"), "{decoded}");
    assert!(!echoes(&h, &[&password, &encoded]).is_empty());
    h.assert_nowhere(&password);
}
