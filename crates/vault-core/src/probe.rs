//! "Test connection": sends an MCP `initialize` to a server with a token and
//! reports, in plain words, whether the server accepted it. Speaks both
//! transports: streamable HTTP (one POST) and legacy SSE (GET the event
//! stream, POST to the endpoint it names, read the answer from the stream).
//!
//! Blocking: callers on an async runtime must run it on a blocking thread.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use serde::Serialize;
use url::Url;

use crate::model::Protocol;
use crate::secret::AccessToken;

const TIMEOUT: Duration = Duration::from_secs(10);
const PROTOCOL_VERSION: &str = "2025-06-18";
/// Enough for any real `initialize` answer; stops a hostile stream early.
const MAX_STREAM_LINES: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ConnectionOutcome {
    Ok,
    Unauthorized,
    Forbidden,
    Unreachable,
    Timeout,
    NotMcp,
    Redirected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ConnectionTest {
    pub outcome: ConnectionOutcome,
    /// What happened, for the user. Never contains the token.
    pub message: String,
    pub server_name: Option<String>,
    pub http_status: Option<u16>,
}

impl ConnectionTest {
    fn new(
        outcome: ConnectionOutcome,
        message: impl Into<String>,
        http_status: Option<u16>,
    ) -> Self {
        Self {
            outcome,
            message: message.into(),
            server_name: None,
            http_status,
        }
    }
}

/// The engine's verdict on a server URL, for validating a form as the user types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct UrlCheck {
    pub normalized: String,
    pub suggested_protocol: Protocol,
}

pub fn check_server_url(url: &str) -> crate::Result<UrlCheck> {
    let normalized = crate::server_url::normalize_server_url(url)?;
    Ok(UrlCheck {
        suggested_protocol: crate::server_url::guess_protocol(&normalized),
        normalized,
    })
}

/// Tests a token before it is saved. The URL is checked with the same rules
/// as a credential's, so nothing is sent to an address the vault would refuse.
pub fn test_connection(
    url: &str,
    protocol: Option<Protocol>,
    token: &AccessToken,
) -> crate::Result<ConnectionTest> {
    let checked = check_server_url(url)?;
    Ok(probe(
        &checked.normalized,
        protocol.unwrap_or(checked.suggested_protocol),
        token,
    ))
}

/// Probes `url` (already normalised) with `token`.
pub(crate) fn probe(url: &str, protocol: Protocol, token: &AccessToken) -> ConnectionTest {
    let mut builder = Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        // Never carry the token to another address: report redirects instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("keybearer/", env!("CARGO_PKG_VERSION")));
    // A server on this computer is reached directly, never through an HTTP
    // proxy from the environment: plain http would show it the token.
    let loopback = url::Url::parse(url)
        .ok()
        .is_some_and(|url| url.host().is_some_and(crate::server_url::is_loopback));
    if loopback {
        builder = builder.no_proxy();
        if let Err(refusal) = check_local_listeners(url) {
            return ConnectionTest {
                outcome: ConnectionOutcome::Unreachable,
                message: format!("Not tested: {refusal}."),
                server_name: None,
                http_status: None,
            };
        }
    }
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => return transport_failure(&error),
    };
    let bearer = format!("Bearer {}", token.expose());
    let result = match protocol {
        Protocol::StreamableHttp => probe_streamable_http(&client, url, &bearer),
        Protocol::Sse => probe_sse(&client, url, &bearer),
    };
    result.unwrap_or_else(|outcome| outcome)
}

/// Who listens on a loopback server's port must be our own user (see
/// `loopback`); `localhost` is checked on both address families.
fn check_local_listeners(url: &str) -> Result<(), String> {
    let Ok(url) = url::Url::parse(url) else {
        return Ok(());
    };
    let Some(port) = url.port_or_known_default() else {
        return Ok(());
    };
    let addresses: Vec<std::net::IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![ip.into()],
        Some(url::Host::Ipv6(ip)) => vec![ip.into()],
        Some(url::Host::Domain(_)) => vec![
            std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::Ipv6Addr::LOCALHOST.into(),
        ],
        None => Vec::new(),
    };
    for ip in addresses {
        crate::loopback::check_listener(std::net::SocketAddr::new(ip, port))?;
    }
    Ok(())
}

fn initialize_request() -> serde_json::Value {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": { "name": "keybearer", "version": env!("CARGO_PKG_VERSION") }
        }
    })
}

type Probe = Result<ConnectionTest, ConnectionTest>;

fn probe_streamable_http(client: &Client, url: &str, bearer: &str) -> Probe {
    let response = client
        .post(url)
        .header(AUTHORIZATION, bearer)
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .body(initialize_request().to_string())
        .send()
        .map_err(|error| transport_failure(&error))?;
    check_status(&response, Protocol::StreamableHttp)?;
    let session_id = response.headers().get("mcp-session-id").cloned();
    let status = response.status().as_u16();
    let is_stream = content_type(&response).starts_with("text/event-stream");
    let message = if is_stream {
        read_sse_until(response, initialize_answer)?
    } else {
        response.text().map_err(|error| transport_failure(&error))?
    };
    let outcome = initialize_result(&message, status);
    // Be polite: end the server-side session the probe opened.
    if let Some(session_id) = session_id {
        let _ = client
            .delete(url)
            .header(AUTHORIZATION, bearer)
            .header("mcp-session-id", session_id)
            .send();
    }
    outcome
}

fn probe_sse(client: &Client, url: &str, bearer: &str) -> Probe {
    let stream = client
        .get(url)
        .header(AUTHORIZATION, bearer)
        .header(ACCEPT, "text/event-stream")
        .send()
        .map_err(|error| transport_failure(&error))?;
    check_status(&stream, Protocol::Sse)?;
    let status = stream.status().as_u16();
    if !content_type(&stream).starts_with("text/event-stream") {
        return Err(not_mcp(status, Protocol::Sse));
    }
    let mut lines = BufReader::new(stream).lines();
    let endpoint = next_event(&mut lines, |event, data| {
        (event == "endpoint").then(|| data.to_string())
    })
    .ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    let base = Url::parse(url).map_err(|_| not_mcp(status, Protocol::Sse))?;
    let endpoint = base
        .join(endpoint.trim())
        .map_err(|_| not_mcp(status, Protocol::Sse))?;
    if endpoint.origin() != base.origin() {
        return Err(ConnectionTest::new(
            ConnectionOutcome::NotMcp,
            "The server asked to send messages to a different address, so Keybearer did not send your token there.",
            Some(status),
        ));
    }
    let posted = client
        .post(endpoint)
        .header(AUTHORIZATION, bearer)
        .header(CONTENT_TYPE, "application/json")
        .body(initialize_request().to_string())
        .send()
        .map_err(|error| transport_failure(&error))?;
    check_status(&posted, Protocol::Sse)?;
    let answer =
        next_event(&mut lines, initialize_answer).ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    initialize_result(&answer, status)
}

/// Picks the answer to our `initialize` (id 1) out of the messages a server
/// streams; servers may send notifications first.
fn initialize_answer(event: &str, data: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    (event == "message" && value.get("id") == Some(&serde_json::json!(1))).then(|| data.to_string())
}

fn content_type(response: &Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

fn check_status(response: &Response, protocol: Protocol) -> Result<(), ConnectionTest> {
    let status = response.status();
    let code = Some(status.as_u16());
    match status {
        StatusCode::UNAUTHORIZED => Err(ConnectionTest::new(
            ConnectionOutcome::Unauthorized,
            "The server rejected the token (401). Check that you pasted the whole token and that it has not expired or been revoked.",
            code,
        )),
        StatusCode::FORBIDDEN => Err(ConnectionTest::new(
            ConnectionOutcome::Forbidden,
            "The server recognised the token but refused access (403). The token may lack the permissions this server needs.",
            code,
        )),
        status if status.is_redirection() => {
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("another address");
            Err(ConnectionTest::new(
                ConnectionOutcome::Redirected,
                format!("The server redirected to {target}. Keybearer never follows redirects with your token; if that is the right server, use its address instead."),
                code,
            ))
        }
        status if status.is_success() => Ok(()),
        _ => Err(not_mcp(status.as_u16(), protocol)),
    }
}

fn not_mcp(status: u16, protocol: Protocol) -> ConnectionTest {
    let other = match protocol {
        Protocol::StreamableHttp => "SSE",
        Protocol::Sse => "Streamable HTTP",
    };
    ConnectionTest::new(
        ConnectionOutcome::NotMcp,
        format!("The server answered (HTTP {status}) but not like an MCP server. Check the address (MCP addresses usually end in /mcp or /sse), or try the {other} protocol."),
        Some(status),
    )
}

fn transport_failure(error: &reqwest::Error) -> ConnectionTest {
    if error.is_timeout() {
        return ConnectionTest::new(
            ConnectionOutcome::Timeout,
            format!("The server did not answer within {} seconds. It may be down or very slow; try again later.", TIMEOUT.as_secs()),
            None,
        );
    }
    // The error text names the URL and the cause (DNS, refused, TLS), never headers.
    let cause = std::error::Error::source(error)
        .map(|source| source.to_string())
        .unwrap_or_else(|| error.to_string());
    ConnectionTest::new(
        ConnectionOutcome::Unreachable,
        format!(
            "Could not reach the server ({cause}). Check the address and your internet connection."
        ),
        None,
    )
}

/// Parses a JSON-RPC answer to `initialize`.
fn initialize_result(body: &str, status: u16) -> Probe {
    let value: serde_json::Value =
        serde_json::from_str(body.trim()).map_err(|_| not_mcp(status, Protocol::StreamableHttp))?;
    if let Some(error) = value.get("error") {
        let detail = error
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("unknown error");
        return Err(ConnectionTest::new(
            ConnectionOutcome::NotMcp,
            format!("The server refused to start an MCP session: {detail}"),
            Some(status),
        ));
    }
    let result = value
        .get("result")
        .ok_or_else(|| not_mcp(status, Protocol::StreamableHttp))?;
    let name = result
        .pointer("/serverInfo/name")
        .and_then(|name| name.as_str())
        .map(str::to_string);
    let mut ok = ConnectionTest::new(
        ConnectionOutcome::Ok,
        match &name {
            Some(name) => format!("Connected. The MCP server \"{name}\" accepted the token."),
            None => "Connected. The MCP server accepted the token.".to_string(),
        },
        Some(status),
    );
    ok.server_name = name;
    Ok(ok)
}

fn read_sse_until(
    response: Response,
    pick: impl Fn(&str, &str) -> Option<String>,
) -> Result<String, ConnectionTest> {
    let status = response.status().as_u16();
    let mut lines = BufReader::new(response).lines();
    next_event(&mut lines, pick).ok_or_else(|| not_mcp(status, Protocol::StreamableHttp))
}

/// Reads server-sent events until `pick` accepts one (event name, data).
fn next_event<R: BufRead>(
    lines: &mut std::io::Lines<R>,
    pick: impl Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    let mut event = String::from("message");
    let mut data = String::new();
    for line in lines.take(MAX_STREAM_LINES) {
        let line = line.ok()?;
        if line.is_empty() {
            if !data.is_empty() {
                if let Some(found) = pick(&event, &data) {
                    return Some(found);
                }
            }
            event = String::from("message");
            data.clear();
        } else if let Some(value) = line.strip_prefix("event:") {
            event = value.trim().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_parser_reads_named_events_and_multiline_data() {
        let text = ": comment\nevent: endpoint\ndata: /messages/?session_id=abc\n\nevent: message\ndata: {\"a\":\ndata: 1}\n\n";
        let mut lines = std::io::Cursor::new(text).lines();
        let endpoint = next_event(&mut lines, |e, d| (e == "endpoint").then(|| d.to_string()));
        assert_eq!(endpoint.as_deref(), Some("/messages/?session_id=abc"));
        let message = next_event(&mut lines, |e, d| (e == "message").then(|| d.to_string()));
        assert_eq!(message.as_deref(), Some("{\"a\":\n1}"));
    }

    #[test]
    fn initialize_answers_are_classified() {
        let ok = initialize_result(
            r#"{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"srv"}}}"#,
            200,
        )
        .expect("ok");
        assert_eq!(ok.outcome, ConnectionOutcome::Ok);
        assert_eq!(ok.server_name.as_deref(), Some("srv"));
        let refused = initialize_result(
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"nope"}}"#,
            200,
        )
        .expect_err("error");
        assert_eq!(refused.outcome, ConnectionOutcome::NotMcp);
        let html = initialize_result("<html>hi</html>", 200).expect_err("html");
        assert_eq!(html.outcome, ConnectionOutcome::NotMcp);
    }
}
