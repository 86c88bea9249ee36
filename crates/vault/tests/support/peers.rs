//! The real MCP peers from the official Python SDK (`tests/mcp-peers`), in
//! the repo's `.venv` (scripts/setup-mcp-venv.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

#[path = "host.rs"]
pub mod host;

pub use host::{host_path, python, repo_file};

/// `server.py` accepting the token in `token_file` (re-read on every request).
pub struct PythonServer {
    pub url: String,
    _peer: host::Started,
}

impl PythonServer {
    pub fn start(transport: &str, token_file: &Path) -> Self {
        Self::spawn(transport, "MCP_TEST_TOKEN_FILE", &host_path(token_file))
    }

    /// `server.py` accepting exactly `token` for its whole life.
    pub fn with_token(transport: &str, token: &str) -> Self {
        Self::spawn(transport, "MCP_TEST_TOKEN", token.as_ref())
    }

    /// `server.py` accepting exactly `token`, started with `args` besides.
    pub fn with_token_and(transport: &str, token: &str, args: &[&str]) -> Self {
        Self::spawn_with(transport, "MCP_TEST_TOKEN", token.as_ref(), args)
    }

    /// `server.py` in header mode: it demands exactly these headers.
    pub fn with_headers(transport: &str, headers: &[(&str, &str)]) -> Self {
        let required: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
            .collect();
        let required = Value::Object(required).to_string();
        Self::spawn(transport, "MCP_TEST_HEADERS", required.as_ref())
    }

    fn spawn(transport: &str, token_variable: &str, value: &std::ffi::OsStr) -> Self {
        Self::spawn_with(transport, token_variable, value, &[])
    }

    fn spawn_with(
        transport: &str,
        token_variable: &str,
        value: &std::ffi::OsStr,
        args: &[&str],
    ) -> Self {
        let peer = host::start(
            Command::new(python())
                .arg(repo_file("tests/mcp-peers/server.py"))
                .args(["--transport", transport, "--port", "0"])
                .args(args)
                .env_remove("MCP_TEST_TOKEN")
                .env_remove("MCP_TEST_TOKEN_FILE")
                .env_remove("MCP_TEST_HEADERS")
                .env(token_variable, value),
        );
        Self {
            url: announced_url(&peer),
            _peer: peer,
        }
    }
}

/// Writes a Claude-style `mcpServers` config (mode 0600) and returns its path.
pub fn write_config(dir: &Path, kind: &str, url: &str, bearer: Option<&str>) -> PathBuf {
    let mut entry = json!({"type": kind, "url": url});
    if let Some(bearer) = bearer {
        entry["headers"] = json!({"Authorization": format!("Bearer {bearer}")});
    }
    let path = dir.join(format!("mcp-{}.json", uuid_like()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path).expect("config file");
    serde_json::to_writer(file, &json!({"mcpServers": {"vaulted": entry}})).expect("write config");
    path
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the official-SDK `client.py --config <file> --tool <tool>`; returns its JSON line.
pub async fn run_client(config: &Path, tool: &str) -> Value {
    let mut command = Command::new(python());
    command
        .arg(repo_file("tests/mcp-peers/client.py"))
        .arg("--config")
        .arg(host_path(config))
        .args(["--tool", tool])
        .env_remove("MCP_CLIENT_TOKEN");
    let ran = tokio::task::spawn_blocking(move || host::run(&mut command))
        .await
        .expect("python client");
    serde_json::from_str(ran.stdout.trim())
        .unwrap_or_else(|_| panic!("client printed no JSON: {} / {}", ran.stdout, ran.stderr))
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::HEXLOWER.encode(&Sha256::digest(text.as_bytes()))
}

/// Runs `server.py` with the SDK's `server/discover` handler unregistered:
/// a server of the 2025 era, which knows only the `initialize` handshake
/// (it answers discovery 404, JSON-RPC -32601 "Method not found").
const WITHOUT_DISCOVERY: &str = r#"
import runpy, sys
path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
peer = runpy.run_path(path, run_name="keybearer_peer")
del peer["mcp"]._lowlevel_server._request_handlers["server/discover"]
peer["main"]()
"#;

impl PythonServer {
    /// `server.py` on streamable HTTP without `server/discover`, accepting `token`.
    pub fn without_discovery(token: &str) -> Self {
        let peer = host::start(
            Command::new(python())
                .arg("-c")
                .arg(WITHOUT_DISCOVERY)
                .arg(repo_file("tests/mcp-peers/server.py"))
                .args(["--transport", "streamable_http", "--port", "0"])
                .env_remove("MCP_TEST_TOKEN_FILE")
                .env("MCP_TEST_TOKEN", token),
        );
        Self {
            url: announced_url(&peer),
            _peer: peer,
        }
    }
}

impl PythonServer {
    /// `endpoint_server.py` (standard library only): a legacy SSE stream at
    /// `sse_path` whose `endpoint` event names `endpoint`, whatever it is;
    /// one JSON line per request goes to `record` (method, path, and
    /// whether an Authorization header came).
    pub fn announcing_endpoint(sse_path: &str, endpoint: &str, record: &Path) -> Self {
        let peer = host::start(
            Command::new(python())
                .arg(repo_file("tests/mcp-peers/endpoint_server.py"))
                .args([
                    "--sse-path",
                    sse_path,
                    "--endpoint",
                    endpoint,
                    "--port",
                    "0",
                ])
                .arg("--record")
                .arg(host_path(record)),
        );
        Self {
            url: announced_url(&peer),
            _peer: peer,
        }
    }
}

/// The official TypeScript SDK v2 server (`tests/mcp-peers-ts/server.mjs`):
/// Streamable HTTP for 2026-07-28 only, or with `lenient` also 2025 clients.
pub struct TsServer {
    pub url: String,
    _peer: host::Started,
}

impl TsServer {
    pub fn with_token(token: &str, lenient: bool) -> Self {
        let script = repo_file("tests/mcp-peers-ts/server.mjs");
        assert!(
            repo_file("tests/mcp-peers-ts/node_modules/@modelcontextprotocol/server").exists(),
            "run npm ci --prefix tests/mcp-peers-ts (scripts/install-deps.sh test does) first"
        );
        let mut command = Command::new(host::node());
        command.arg(script).args(["--port", "0"]);
        if lenient {
            command.arg("--lenient");
        }
        let peer = host::start(
            command
                .env_remove("MCP_TEST_TOKEN_FILE")
                .env("MCP_TEST_TOKEN", token),
        );
        Self {
            url: announced_url(&peer),
            _peer: peer,
        }
    }
}

/// The `{"url": …}` line a test server prints on stdout once it listens.
fn announced_url(peer: &host::Started) -> String {
    let value: Value = serde_json::from_str(&peer.line)
        .unwrap_or_else(|_| panic!("the server printed no address: {:?}", peer.line));
    value["url"].as_str().expect("url").to_string()
}
