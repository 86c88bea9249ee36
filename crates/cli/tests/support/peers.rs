//! Real MCP servers for the CLI's tests, on every system the tests run on
//! (Linux, and the Windows build under Wine: paths for the host's Python
//! and Node come from crates/vault/tests/support/host.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "../../../vault/tests/support/host.rs"]
pub mod host;

/// A real MCP server (official Python SDK) that accepts only `token`.
pub struct McpServer {
    pub url: String,
    _peer: host::Started,
}

/// The repository's root folder, written so the host's tools can use it
/// (see crates/vault/tests/support/host.rs).
pub fn repo_root() -> PathBuf {
    host::repo_file("")
}

pub fn venv_python() -> PathBuf {
    host::python()
}

pub fn start_mcp_server(transport: &str, token: &str) -> McpServer {
    start_python_server(&["--transport", transport], token)
}

/// The Python SDK server accepting the token written in `file`, read again
/// on every request (a test rotates it by rewriting the file).
pub fn start_mcp_server_reading(transport: &str, file: &Path) -> McpServer {
    let mut command = Command::new(venv_python());
    command
        .arg(host::repo_file("tests/mcp-peers/server.py"))
        .args(["--transport", transport, "--port", "0"])
        .env("MCP_TEST_TOKEN_FILE", host::host_path(file));
    start_peer(command, "")
}

/// The Python SDK server with these arguments (`--port 0` added).
pub fn start_python_server(args: &[&str], token: &str) -> McpServer {
    let mut command = Command::new(venv_python());
    command
        .arg(host::repo_file("tests/mcp-peers/server.py"))
        .args(args)
        .args(["--port", "0"]);
    start_peer(command, token)
}

/// The Python SDK server with these arguments, accepting each token listed
/// (one a line) in `tokens`, re-read on every request: rewriting the file
/// rotates the token.
pub fn start_python_server_reading(args: &[&str], tokens: &Path) -> McpServer {
    let mut command = Command::new(venv_python());
    command
        .arg(host::repo_file("tests/mcp-peers/server.py"))
        .args(args)
        .args(["--port", "0"])
        .env("MCP_TEST_TOKEN_FILE", host::host_path(tokens));
    start_peer(command, "")
}

/// A legacy SSE server at `sse_path` whose `endpoint` event names
/// `endpoint`, whatever it is (`tests/mcp-peers/endpoint_server.py`); it
/// appends one JSON line per request to `record`: method, path, and whether
/// an Authorization header came.
pub fn start_endpoint_server(sse_path: &str, endpoint: &str, record: &Path) -> McpServer {
    let mut command = Command::new(venv_python());
    command
        .arg(host::repo_file("tests/mcp-peers/endpoint_server.py"))
        .args([
            "--sse-path",
            sse_path,
            "--endpoint",
            endpoint,
            "--port",
            "0",
        ])
        .arg("--record")
        .arg(host::host_path(record));
    start_peer(command, "")
}

/// The TypeScript SDK v2 server (stateless 2026-07-28; strict unless
/// `--lenient` is passed).
pub fn start_ts_server(args: &[&str], token: &str) -> McpServer {
    let mut command = Command::new(host::node());
    command
        .arg(host::repo_file("tests/mcp-peers-ts/server.mjs"))
        .args(args)
        .args(["--port", "0"]);
    start_peer(command, token)
}

/// The Python SDK server in header mode: it demands exactly these headers
/// (and no bearer token); `whoami` answers the SHA-256 of their
/// `Name: value` lines.
pub fn start_peer_with_headers(headers: &[(&str, &str)]) -> McpServer {
    let required: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
        .collect();
    let mut command = Command::new(venv_python());
    command
        .arg(host::repo_file("tests/mcp-peers/server.py"))
        .args(["--transport", "streamable_http", "--port", "0"])
        .env("MCP_TEST_HEADERS", Value::Object(required).to_string());
    start_peer(command, "")
}

/// Starts a test server that accepts only `token` and announces its URL as
/// `{"url": …}` on its first stdout line.
fn start_peer(mut command: Command, token: &str) -> McpServer {
    if !token.is_empty() {
        command.env("MCP_TEST_TOKEN", token);
    }
    let peer = host::start(&mut command);
    let announced: Value = serde_json::from_str(&peer.line)
        .unwrap_or_else(|_| panic!("the server printed no address: {:?}", peer.line));
    McpServer {
        url: announced["url"].as_str().expect("url").to_string(),
        _peer: peer,
    }
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::HEXLOWER.encode(&Sha256::digest(text.as_bytes()))
}
