//! The MCP Registry test peer (tests/registry-peer/server.py, Python's
//! standard library) for the desktop tests: the pages it serves, set over
//! its control endpoint (`POST /test/config`), and the registry server
//! records a page holds. Keybearer is pointed at it with `keybearer settings
//! registry` and reads it with `keybearer catalog --refresh`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use keybearer_e2e::{repo_root, Guard};
use serde_json::{json, Value};

pub struct RegistryPeer {
    /// The registry's address (`http://127.0.0.1:PORT`).
    pub base: String,
    _process: Guard,
}

impl RegistryPeer {
    pub fn start() -> Self {
        let mut child = Command::new(repo_root().join(".venv/bin/python"))
            .arg(repo_root().join("tests/registry-peer/server.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the registry test peer");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the peer announces its address");
        let announced: Value = serde_json::from_str(&line).expect("JSON line");
        Self {
            base: announced["base"].as_str().expect("base").to_string(),
            _process: Guard(child),
        }
    }

    /// Serves these servers as the registry's one page.
    pub fn serve(&self, servers: Vec<Value>) {
        let body = json!({
            "pages": [{ "servers": servers, "metadata": { "nextCursor": null, "count": 0 } }],
            "mode": "pages",
        })
        .to_string();
        let authority = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(authority).expect("connect to the registry peer");
        write!(
            stream,
            "POST /test/config HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send to the registry peer");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("its answer");
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
    }
}

/// One registry server (`{ "server": …, "_meta": … }`) with one
/// Streamable HTTP address; `title` is the name Keybearer shows.
pub fn registry_server(name: &str, title: &str, url: &str) -> Value {
    json!({
        "server": {
            "name": name,
            "title": title,
            "description": format!("{title}, listed by its publisher."),
            "version": "1.0.0",
            "remotes": [{ "type": "streamable-http", "url": url }]
        },
        "_meta": { "io.modelcontextprotocol.registry/official": { "status": "active", "isLatest": true } }
    })
}
