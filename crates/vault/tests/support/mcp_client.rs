//! A minimal MCP streamable-HTTP client (initialize, tools/call) over one
//! keep-alive HTTP/1.1 connection pool, for tests that must stay inside one
//! MCP session and for the proxy benchmark. The official Python client is
//! used wherever a whole client run is enough.

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const PROTOCOL_VERSION: &str = "2025-06-18";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct McpClient {
    http: Client<HttpConnector, Full<Bytes>>,
    url: String,
    bearer: String,
    session_id: Option<String>,
    next_id: u64,
}

/// An HTTP failure status, kept so tests can assert on it.
#[derive(Debug)]
pub struct HttpStatus(pub StatusCode, pub String);

impl std::fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.0, self.1)
    }
}

impl std::error::Error for HttpStatus {}

impl McpClient {
    /// `bearer` is what goes after `Authorization: Bearer ` (a token or a session secret).
    pub fn new(url: &str, bearer: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            http: Client::builder(TokioExecutor::new()).build(connector),
            url: url.to_string(),
            bearer: bearer.to_string(),
            session_id: None,
            next_id: 1,
        }
    }

    pub async fn initialize(&mut self) -> Result<Value, BoxError> {
        let result = self
            .rpc(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "keybearer-tests", "version": "0"}
                }),
            )
            .await?;
        self.notify("notifications/initialized").await?;
        Ok(result)
    }

    /// Calls a tool and returns its text content.
    pub async fn call_tool(&mut self, name: &str, arguments: Value) -> Result<String, BoxError> {
        let result = self
            .rpc("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        if result.get("isError") == Some(&Value::Bool(true)) {
            return Err(format!("tool {name} failed: {result}").into());
        }
        let text = result["content"]
            .as_array()
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|block| block["text"].as_str())
                    .collect::<String>()
            })
            .unwrap_or_default();
        Ok(text)
    }

    async fn notify(&mut self, method: &str) -> Result<(), BoxError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let (status, _, _) = self.post(&body).await?;
        if !status.is_success() {
            return Err(format!("{method}: HTTP {status}").into());
        }
        Ok(())
    }

    async fn rpc(&mut self, method: &str, params: Value) -> Result<Value, BoxError> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let (status, content_type, text) = self.post(&body).await?;
        if !status.is_success() {
            return Err(Box::new(HttpStatus(status, text)));
        }
        let message = if content_type.starts_with("text/event-stream") {
            sse_messages(&text)
                .into_iter()
                .find(|message| message.get("id") == Some(&json!(id)))
                .ok_or("no answer in the event stream")?
        } else {
            serde_json::from_str(&text)?
        };
        if let Some(error) = message.get("error") {
            return Err(format!("{method}: {error}").into());
        }
        Ok(message["result"].clone())
    }

    async fn post(&mut self, body: &Value) -> Result<(StatusCode, String, String), BoxError> {
        let mut request = Request::post(&self.url)
            .header(AUTHORIZATION, format!("Bearer {}", self.bearer))
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .header("mcp-protocol-version", PROTOCOL_VERSION);
        if let Some(session_id) = &self.session_id {
            request = request.header("mcp-session-id", session_id);
        }
        let request = request.body(Full::new(Bytes::from(body.to_string())))?;
        let response = self.http.request(request).await?;
        let status = response.status();
        if let Some(session_id) = response.headers().get("mcp-session-id") {
            self.session_id = Some(session_id.to_str()?.to_string());
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((
            status,
            content_type,
            String::from_utf8_lossy(&bytes).into_owned(),
        ))
    }
}

/// The JSON messages in an SSE body (`data:` lines, one message per event).
pub fn sse_messages(text: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut data = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if let Ok(message) = serde_json::from_str(&data) {
                messages.push(message);
            }
            data.clear();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    messages
}
