//! The OAuth test peer (`tests/oauth-peer/server.py`: an authorization
//! server and a token-protected MCP server on the official Python SDK), a
//! stand-in browser for sign-in, and a minimal MCP client that sends a
//! bearer token.
#![allow(dead_code)] // not every test uses every helper

use std::process::Command;
use std::sync::{Arc, Mutex};

use reqwest::blocking::Client;
use serde_json::{json, Value};

use super::peers::host;

pub use host::{python, repo_file};

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("client")
}

/// One peer process: `url` is its MCP endpoint, `base` its origin.
pub struct OAuthPeer {
    pub url: String,
    pub issuer: String,
    pub base: String,
    _peer: host::Started,
}

impl OAuthPeer {
    pub fn start(args: &[&str]) -> Self {
        let peer = host::start(
            Command::new(python())
                .arg(repo_file("tests/oauth-peer/server.py"))
                .args(["--port", "0"])
                .args(args),
        );
        let value: Value = serde_json::from_str(&peer.line)
            .unwrap_or_else(|_| panic!("the peer printed no JSON line: {:?}", peer.line));
        let text = |key: &str| value[key].as_str().expect(key).to_string();
        Self {
            url: text("url"),
            issuer: text("issuer"),
            base: text("base"),
            _peer: peer,
        }
    }

    /// `GET /test/stats`: how many registrations, refreshes, … happened.
    pub fn stats(&self) -> Value {
        let text = client()
            .get(format!("{}/test/stats", self.base))
            .send()
            .and_then(|response| response.text())
            .expect("stats");
        serde_json::from_str(&text).expect("stats JSON")
    }

    pub fn stat(&self, name: &str) -> u64 {
        self.stats()[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no stat {name}"))
    }

    /// `POST /test/config`: flips test switches while the peer runs.
    pub fn config(&self, changes: Value) {
        let status = client()
            .post(format!("{}/test/config", self.base))
            .header("Content-Type", "application/json")
            .body(changes.to_string())
            .send()
            .expect("config")
            .status();
        assert!(status.is_success(), "config {changes}: {status}");
    }

    /// `POST /test/drop-access-tokens`: the server stops taking every access
    /// token issued so far (refresh tokens keep working).
    pub fn drop_access_tokens(&self) {
        let status = client()
            .post(format!("{}/test/drop-access-tokens", self.base))
            .send()
            .expect("drop access tokens")
            .status();
        assert!(status.is_success(), "drop access tokens: {status}");
    }

    /// `GET /test/issued`: every token and client secret handed out so far.
    pub fn issued(&self) -> Vec<String> {
        let text = client()
            .get(format!("{}/test/issued", self.base))
            .send()
            .and_then(|answer| answer.text())
            .expect("issued");
        let answer: Value = serde_json::from_str(&text).expect("issued JSON");
        answer["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|token| token.as_str().map(str::to_string))
            .collect()
    }

    /// `GET <path>` on the peer, as JSON (`/test/registrations`,
    /// `/test/authorizations`, …).
    pub fn get(&self, path: &str) -> Value {
        let text = client()
            .get(format!("{}{path}", self.base))
            .send()
            .and_then(|answer| answer.text())
            .expect(path);
        serde_json::from_str(&text).expect(path)
    }

    /// Every registration request as received (`scope` included when sent), with `refused`.
    pub fn registrations(&self) -> Vec<Value> {
        self.get("/test/registrations")["registrations"]
            .as_array()
            .expect("registrations")
            .clone()
    }

    /// Every authorization request's `scope` and `prompt`.
    pub fn authorizations(&self) -> Vec<Value> {
        self.get("/test/authorizations")["authorizations"]
            .as_array()
            .expect("authorizations")
            .clone()
    }

    /// Every token revoked at `/revoke`.
    pub fn revoked(&self) -> Vec<String> {
        self.get("/test/revoked")["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|token| token.as_str().map(str::to_string))
            .collect()
    }

    /// Registers a client the way an administrator would beforehand.
    pub fn register(&self, metadata: Value) -> Value {
        let response = client()
            .post(format!("{}/register", self.base))
            .header("Content-Type", "application/json")
            .body(metadata.to_string())
            .send()
            .expect("register");
        assert_eq!(response.status().as_u16(), 201);
        serde_json::from_str(&response.text().expect("body")).expect("client information")
    }
}

/// A stand-in browser: what sign-in's `opener` gets. It loads the address
/// (the sign-in's start page), follows the redirects (to the peer's
/// authorization address, which approves at once and sends it back to
/// Keybearer's listener) on its own thread (the listener answers only once
/// the opener has returned), and records every address it loaded in
/// `visited`. The last page ends up in `page`.
#[derive(Default)]
pub struct Browser {
    pub page: Arc<Mutex<Option<String>>>,
    pub opened: Arc<Mutex<Vec<String>>>,
    pub visited: Arc<Mutex<Vec<String>>>,
}

impl Browser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self, url: &str) -> keybearer_vault::Result<()> {
        self.opened.lock().expect("lock").push(url.to_string());
        let (page, visited) = (Arc::clone(&self.page), Arc::clone(&self.visited));
        let mut address = url.to_string();
        std::thread::spawn(move || {
            let client = Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("browser");
            let mut text = "browser error: too many redirects".to_string();
            for _ in 0..10 {
                visited.lock().expect("lock").push(address.clone());
                let response = match client.get(&address).send() {
                    Ok(response) => response,
                    Err(error) => {
                        text = format!("browser error: {error}");
                        break;
                    }
                };
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                match location {
                    Some(next) if response.status().is_redirection() => {
                        address = url::Url::parse(&address)
                            .and_then(|base| base.join(&next))
                            .expect("redirect address")
                            .into();
                    }
                    _ => {
                        text = response
                            .text()
                            .unwrap_or_else(|error| format!("browser error: {error}"));
                        break;
                    }
                }
            }
            *page.lock().expect("lock") = Some(text);
        });
        Ok(())
    }

    pub fn page(&self) -> Option<String> {
        for _ in 0..100 {
            if let Some(page) = self.page.lock().expect("lock").clone() {
                return Some(page);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }
}

/// An opener that never opens anything (sign-in then waits until its timeout).
pub fn nobody(_url: &str) -> keybearer_vault::Result<()> {
    Ok(())
}

/// What one MCP request got back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub www_authenticate: Vec<String>,
    /// The JSON-RPC message (from a JSON body or the SSE stream's data line).
    pub message: Option<Value>,
}

/// A Streamable HTTP session opened with a bearer token.
pub struct McpSession {
    url: String,
    token: String,
    session_id: Option<String>,
}

impl McpSession {
    /// `initialize` (and `notifications/initialized`) with `token`; the
    /// reply to `initialize` when it was refused.
    pub fn open(url: &str, token: &str) -> Result<Self, Reply> {
        let mut session = Self {
            url: url.to_string(),
            token: token.to_string(),
            session_id: None,
        };
        let (reply, session_id) = session.send(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "keybearer-oauth-test", "version": "1"}
            }
        }));
        if reply.status != 200 {
            return Err(reply);
        }
        session.session_id = session_id;
        session.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        Ok(session)
    }

    pub fn call_tool(&self, name: &str, arguments: Value) -> Reply {
        self.send(&json!({
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}
        }))
        .0
    }

    /// The text a tool returned.
    pub fn tool_text(&self, name: &str) -> String {
        let reply = self.call_tool(name, json!({}));
        assert_eq!(reply.status, 200, "{name}: {:?}", reply.www_authenticate);
        reply.message.expect("message")["result"]["content"][0]["text"]
            .as_str()
            .expect("text")
            .to_string()
    }

    fn send(&self, message: &Value) -> (Reply, Option<String>) {
        let mut request = client()
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(message.to_string());
        if let Some(session_id) = &self.session_id {
            request = request
                .header("Mcp-Session-Id", session_id)
                .header("MCP-Protocol-Version", "2025-06-18");
        }
        let response = request.send().expect("mcp request");
        let status = response.status().as_u16();
        let header = |name: &str| -> Vec<String> {
            response
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok().map(str::to_string))
                .collect()
        };
        let www_authenticate = header("www-authenticate");
        let session_id = header("mcp-session-id").into_iter().next();
        let body = response.text().unwrap_or_default();
        let message = serde_json::from_str(&body).ok().or_else(|| {
            body.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .find_map(|data| serde_json::from_str(data.trim()).ok())
        });
        (
            Reply {
                status,
                www_authenticate,
                message,
            },
            session_id,
        )
    }
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::HEXLOWER.encode(&Sha256::digest(text.as_bytes()))
}
