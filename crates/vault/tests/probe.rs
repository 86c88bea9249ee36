//! "Test connection" against real MCP servers from the official Python SDK
//! (`tests/mcp-peers/server.py`, in the `.venv` that `make test` prepares)
//! and the official TypeScript SDK v2 (`tests/mcp-peers-ts/server.mjs`).

use std::process::{Command, Stdio};

mod support;

use keybearer_vault::{
    test_connection, AccessToken, ConnectionOutcome, CredentialSecret, Protocol,
};
use support::peers::{host_path, python, PythonServer, TsServer};

fn token(value: &str) -> CredentialSecret {
    AccessToken::new(value.to_string()).expect("token").into()
}

#[test]
fn streamable_http_server_accepts_the_right_token_only() {
    let server = PythonServer::with_token("streamable_http", "probe-right-token");
    let ok = test_connection(
        &server.url,
        Some(Protocol::StreamableHttp),
        &token("probe-right-token"),
    )
    .expect("probe");
    assert_eq!(ok.outcome, ConnectionOutcome::Ok, "{}", ok.message);
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server"));
    let wrong = test_connection(
        &server.url,
        Some(Protocol::StreamableHttp),
        &token("probe-wrong"),
    )
    .expect("probe");
    assert_eq!(wrong.outcome, ConnectionOutcome::Unauthorized);
    assert_eq!(wrong.http_status, Some(401));
    assert!(!wrong.message.contains("probe-wrong"));
    // Protocol guessed from the URL (/mcp → streamable HTTP) when not given.
    let guessed = test_connection(&server.url, None, &token("probe-right-token")).expect("probe");
    assert_eq!(guessed.outcome, ConnectionOutcome::Ok);
    // The wrong protocol is explained, not mistaken for success.
    let as_sse = test_connection(
        &server.url,
        Some(Protocol::Sse),
        &token("probe-right-token"),
    )
    .expect("probe");
    assert_eq!(
        as_sse.outcome,
        ConnectionOutcome::NotMcp,
        "{}",
        as_sse.message
    );
    assert!(as_sse.message.contains("Streamable HTTP"));
}

#[test]
fn legacy_sse_server_accepts_the_right_token_only() {
    let server = PythonServer::with_token("sse", "probe-sse-token");
    let ok = test_connection(&server.url, Some(Protocol::Sse), &token("probe-sse-token"))
        .expect("probe");
    assert_eq!(ok.outcome, ConnectionOutcome::Ok, "{}", ok.message);
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server"));
    let wrong = test_connection(&server.url, Some(Protocol::Sse), &token("nope")).expect("probe");
    assert_eq!(wrong.outcome, ConnectionOutcome::Unauthorized);
}

#[test]
fn unreachable_and_non_mcp_servers_are_told_apart() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let down =
        test_connection(&format!("http://127.0.0.1:{port}/mcp"), None, &token("t")).expect("probe");
    assert_eq!(
        down.outcome,
        ConnectionOutcome::Unreachable,
        "{}",
        down.message
    );
    assert!(down.message.contains("Could not reach"), "{}", down.message);

    // A plain web server that is not MCP: Python's own http.server.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("mcp"), "<html>not mcp</html>").expect("file");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut web = Command::new(python())
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(host_path(dir.path()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("http.server");
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut result = None;
    for _ in 0..50 {
        let probe = test_connection(&url, Some(Protocol::Sse), &token("t")).expect("probe");
        if probe.outcome != ConnectionOutcome::Unreachable {
            result = Some(probe);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = web.kill();
    let _ = web.wait();
    let result = result.expect("http.server answered");
    assert_eq!(
        result.outcome,
        ConnectionOutcome::NotMcp,
        "{}",
        result.message
    );

    let refused =
        test_connection("http://example.com/mcp", None, &token("t")).expect_err("plain http");
    assert_eq!(refused.code(), "invalid_input");
}

/// Tests `url` with the right and a wrong token; returns the right one's result.
fn right_and_wrong(url: &str, protocol: Protocol, right: &str) -> keybearer_vault::ConnectionTest {
    let ok = test_connection(url, Some(protocol), &token(right)).expect("probe");
    assert_eq!(ok.outcome, ConnectionOutcome::Ok, "{}", ok.message);
    assert!(!ok.message.contains(right), "{}", ok.message);
    let wrong_token = format!("{right}-wrong");
    let wrong = test_connection(url, Some(protocol), &token(&wrong_token)).expect("probe");
    assert_eq!(
        wrong.outcome,
        ConnectionOutcome::Unauthorized,
        "{}",
        wrong.message
    );
    assert_eq!(wrong.http_status, Some(401));
    assert_eq!(wrong.protocol_version, None);
    assert!(!wrong.message.contains(&wrong_token), "{}", wrong.message);
    ok
}

#[test]
fn a_strict_2026_07_28_server_is_found_by_discovery() {
    // TypeScript SDK v2 with legacy requests rejected: an `initialize` gets
    // 400 -32022, so only `server/discover` reaches it.
    let server = TsServer::with_token("probe-ts-strict-token", false);
    let ok = right_and_wrong(
        &server.url,
        Protocol::StreamableHttp,
        "probe-ts-strict-token",
    );
    assert_eq!(ok.protocol_version.as_deref(), Some("2026-07-28"));
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server-ts"));
    assert_eq!(ok.http_status, Some(200));
    assert_eq!(
        ok.message,
        "Connected. The MCP server \"keybearer-test-server-ts\" accepted the token (MCP 2026-07-28)."
    );
    // The protocol guessed from the URL (/mcp) gives the same answer.
    let guessed =
        test_connection(&server.url, None, &token("probe-ts-strict-token")).expect("probe");
    assert_eq!(guessed.protocol_version.as_deref(), Some("2026-07-28"));
    // It has no SSE stream to GET (405): explained, not taken for success.
    let as_sse = test_connection(
        &server.url,
        Some(Protocol::Sse),
        &token("probe-ts-strict-token"),
    )
    .expect("probe");
    assert_eq!(
        as_sse.outcome,
        ConnectionOutcome::NotMcp,
        "{}",
        as_sse.message
    );
}

#[test]
fn a_lenient_server_is_reported_at_its_newest_revision() {
    let server = TsServer::with_token("probe-ts-lenient-token", true);
    let ok = right_and_wrong(
        &server.url,
        Protocol::StreamableHttp,
        "probe-ts-lenient-token",
    );
    assert_eq!(ok.protocol_version.as_deref(), Some("2026-07-28"));
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server-ts"));
}

#[test]
fn the_python_sdk_server_speaks_2026_07_28_on_streamable_http() {
    // mcp 2.3.0 answers `server/discover` as well as `initialize`.
    let server = PythonServer::with_token("streamable_http", "probe-py-both-token");
    let ok = right_and_wrong(&server.url, Protocol::StreamableHttp, "probe-py-both-token");
    assert_eq!(ok.protocol_version.as_deref(), Some("2026-07-28"));
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server"));
}

#[test]
fn a_server_without_discovery_is_tested_with_initialize() {
    // The Python SDK with `server/discover` unregistered answers it 404
    // -32601; the probe falls back to `initialize` (sent at 2025-11-25) and
    // reports the revision the server answers with.
    let server = PythonServer::without_discovery("probe-py-2025-token");
    let ok = right_and_wrong(&server.url, Protocol::StreamableHttp, "probe-py-2025-token");
    assert_eq!(ok.protocol_version.as_deref(), Some("2025-11-25"));
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server"));
    assert_eq!(
        ok.message,
        "Connected. The MCP server \"keybearer-test-server\" accepted the token (MCP 2025-11-25)."
    );
}

#[test]
fn a_legacy_sse_server_reports_the_revision_it_answers() {
    let server = PythonServer::with_token("sse", "probe-py-sse-token");
    let ok = right_and_wrong(&server.url, Protocol::Sse, "probe-py-sse-token");
    assert_eq!(ok.protocol_version.as_deref(), Some("2025-11-25"));
    assert_eq!(ok.server_name.as_deref(), Some("keybearer-test-server"));
    assert!(ok.message.ends_with("(MCP 2025-11-25)."), "{}", ok.message);
}

/// A legacy SSE server on a shared host whose stream names another tenant's
/// path as its message endpoint: the test sends the token nowhere but the
/// stream (the rule the proxy and the bridge share, `reach::check`), and
/// says why. The server records what it received.
#[test]
fn an_sse_endpoint_on_another_tenants_path_gets_no_token() {
    let dir = tempfile::tempdir().expect("dir");
    let record = dir.path().join("requests.jsonl");
    let server = PythonServer::announcing_endpoint(
        "/tenant-a/sse",
        "/tenant-b/messages/?session_id=1",
        &record,
    );
    let result = test_connection(
        &server.url,
        Some(Protocol::Sse),
        &token("probe-tenant-token"),
    )
    .expect("probe");
    let seen = std::fs::read_to_string(&record).unwrap_or_default();
    let requests: Vec<serde_json::Value> = seen
        .lines()
        .map(|line| serde_json::from_str(line).expect("record line"))
        .collect();
    assert!(
        requests.iter().all(|r| r["path"] == "/tenant-a/sse"),
        "only the stream was asked for: {requests:?}"
    );
    assert!(
        requests.iter().any(|r| r["authorization"] == true),
        "the stream itself got the token: {requests:?}"
    );
    assert_eq!(
        result.outcome,
        ConnectionOutcome::NotMcp,
        "{}",
        result.message
    );
    assert_eq!(
        result.message,
        "The server asked to send messages to /tenant-b/messages/, outside /tenant-a/ where the server's own address is, so Keybearer did not send your token there."
    );
}
