//! "Test connection" against real MCP servers from the official Python SDK
//! (`tests/mcp-peers/server.py`, in the `.venv` that `make test` prepares).

use std::process::{Command, Stdio};

mod support;

use support::peers::PythonServer;
use vault_core::{test_connection, AccessToken, ConnectionOutcome, Protocol};

fn token(value: &str) -> AccessToken {
    AccessToken::new(value.to_string()).expect("token")
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
    assert!(down.message.contains("Could not reach"));

    // A plain web server that is not MCP: Python's own http.server.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("mcp"), "<html>not mcp</html>").expect("file");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut web = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir.path())
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
