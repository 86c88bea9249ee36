//! The MCP Registry test peer (`tests/registry-peer/server.py`, Python's
//! standard library): pages the test sets, hostile ways of answering, and a
//! record of every list request. Shared by the vault's and the CLI's tests
//! (the CLI's include this file by path). Its controls are spoken over a
//! plain socket, so the tests need no HTTP client of their own.
#![allow(dead_code)] // not every test uses every helper

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use serde_json::{json, Value};

use super::peers::host;

pub struct RegistryPeer {
    /// The registry's address (`http://127.0.0.1:PORT`).
    pub base: String,
    _peer: host::Started,
}

impl RegistryPeer {
    pub fn start() -> Self {
        let peer = host::start(
            Command::new(host::python())
                .arg(host::repo_file("tests/registry-peer/server.py"))
                .args(["--port", "0"]),
        );
        let value: Value = serde_json::from_str(&peer.line)
            .unwrap_or_else(|_| panic!("the registry peer printed no JSON line: {:?}", peer.line));
        Self {
            base: value["base"].as_str().expect("base").to_string(),
            _peer: peer,
        }
    }

    fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("port")
    }

    /// One request to the peer's controls; the answer's body as JSON.
    fn call(&self, method: &str, path: &str, body: &[u8]) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port())).expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("write");
        stream.write_all(body).expect("write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read");
        let text = String::from_utf8_lossy(&answer);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).expect("JSON")
    }

    /// `POST /test/config`.
    pub fn config(&self, config: &Value) {
        self.call("POST", "/test/config", config.to_string().as_bytes());
    }

    /// Serves these pages (JSON values, or `{"text": …}`), normally.
    pub fn serve(&self, pages: &[Value]) {
        self.config(&json!({ "pages": pages, "mode": "pages" }));
    }

    /// How `/v0.1/servers` answers: `pages`, `hang`, `drip`, `status`,
    /// `redirect`, `close` (README.md there).
    pub fn mode(&self, mode: &str) {
        self.config(&json!({ "mode": mode }));
    }

    /// How many list requests reached it.
    pub fn list_requests(&self) -> u64 {
        self.call("GET", "/test/stats", b"")["list_requests"]
            .as_u64()
            .expect("count")
    }

    /// How many requests a redirect sent elsewhere (a client must never go).
    pub fn elsewhere(&self) -> u64 {
        self.call("GET", "/test/stats", b"")["elsewhere"]
            .as_u64()
            .expect("count")
    }

    /// Every list request: method, path, query, headers.
    pub fn requests(&self) -> Vec<Value> {
        self.call("GET", "/test/requests", b"")["requests"]
            .as_array()
            .expect("requests")
            .clone()
    }
}

/// One registry server (`{ "server": …, "_meta": … }`) with one address.
pub fn server(name: &str, title: &str, url: &str) -> Value {
    json!({
        "server": {
            "name": name,
            "title": title,
            "description": format!("{title}, from the registry."),
            "version": "1.0.0",
            "remotes": [{ "type": "streamable-http", "url": url }]
        },
        "_meta": { "io.modelcontextprotocol.registry/official": { "status": "active", "isLatest": true } }
    })
}

/// A page of `servers`, naming `cursor` as the next page's.
pub fn page(servers: Vec<Value>, cursor: Option<&str>) -> Value {
    json!({ "servers": servers, "metadata": { "nextCursor": cursor, "count": 0 } })
}

/// A fixture of the catalog's tests (crates/server-catalog/tests/fixtures).
pub fn fixture(name: &str) -> Value {
    let path = host::repo_file(&format!("crates/server-catalog/tests/fixtures/{name}"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}
