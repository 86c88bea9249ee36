//! Which transport a server speaks, found by asking it without a credential
//! (the window's "Other server", `credential add --url` and registry
//! entries; docs/architecture.md, "Known servers").
//!
//! Flow, Streamable HTTP first, then SSE:
//! 1. POST an `initialize` (no token). A success, or a JSON-RPC answer of
//!    any status, is Streamable HTTP. A 401 or 403 says the address wants a
//!    credential for a POST: Streamable HTTP, unless the address names SSE
//!    (`…/sse`), since a server that refuses everything without a token
//!    cannot tell more.
//! 2. Otherwise (404, 405, …) GET the address as an event stream: a stream
//!    whose first event is SSE's `endpoint`, or a 401 or 403, is SSE.
//! 3. Neither: the server is not known to speak MCP at that address; the
//!    caller keeps the address's guess and says so.
//!
//! A redirect, no answer, or no answer in time ends it with the reason.
//! Limits: nothing secret is sent, so no loopback owner check is made here
//! (Test connection, sign-in and the proxy make it before a secret goes
//! out). A Streamable HTTP session the POST opened is ended (DELETE).

use http::header::{HeaderName, ACCEPT, CONTENT_TYPE};
use http::{Method, StatusCode};

use super::messages::initialize_request;
use super::{content_type, sse, transport_failure, Auth, Http};
use crate::model::Protocol;
use crate::upstream::blocking::{Answer, BlockingClient};

/// What the server's answers say of its transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundTransport {
    /// It answered on this transport (or asked for a credential there).
    Speaks(Protocol),
    /// It answered, but like no MCP transport: the reason, in plain words.
    Unclear(String),
    /// It could not be asked (unreachable, too slow, a redirect): the
    /// reason, in plain words.
    NotAsked(String),
}

const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");

/// Asks the server at `url` (normalised) which transport it speaks.
pub fn find_transport(url: &str) -> FoundTransport {
    let client = match BlockingClient::new() {
        Ok(client) => Http { client },
        Err(failure) => return FoundTransport::NotAsked(transport_failure(&failure).message),
    };
    let none = Auth::new();
    let posted = match client.send(
        Method::POST,
        url,
        &none,
        &[
            (ACCEPT, "application/json, text/event-stream"),
            (CONTENT_TYPE, "application/json"),
        ],
        Some(initialize_request().to_string()),
    ) {
        Ok(answer) => answer,
        Err(test) => return FoundTransport::NotAsked(test.message),
    };
    let status = posted.status;
    if status.is_redirection() {
        return FoundTransport::NotAsked(redirected(&posted, url));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return FoundTransport::Speaks(crate::server_url::guess_protocol(url));
    }
    if status.is_success() {
        end_session(&client, url, &posted);
        return FoundTransport::Speaks(Protocol::StreamableHttp);
    }
    if answers_json_rpc(posted) {
        return FoundTransport::Speaks(Protocol::StreamableHttp);
    }
    let streamed = match client.send(
        Method::GET,
        url,
        &none,
        &[(ACCEPT, "text/event-stream")],
        None,
    ) {
        Ok(answer) => answer,
        Err(test) => return FoundTransport::NotAsked(test.message),
    };
    let got = streamed.status;
    if got.is_redirection() {
        return FoundTransport::NotAsked(redirected(&streamed, url));
    }
    if got == StatusCode::UNAUTHORIZED || got == StatusCode::FORBIDDEN {
        return FoundTransport::Speaks(Protocol::Sse);
    }
    if got.is_success()
        && content_type(&streamed).starts_with("text/event-stream")
        && sse::announces_endpoint(streamed)
    {
        return FoundTransport::Speaks(Protocol::Sse);
    }
    FoundTransport::Unclear(format!(
        "The server answered (HTTP {}) but not like an MCP server, over Streamable HTTP or SSE. Check the address: MCP addresses usually end in /mcp or /sse.",
        status.as_u16()
    ))
}

/// A refused POST that still speaks JSON-RPC (a server of a newer revision
/// refusing the 2025 `initialize`): Streamable HTTP.
fn answers_json_rpc(mut answer: Answer<'_>) -> bool {
    let kind = content_type(&answer);
    if !(kind.starts_with("application/json") || kind.starts_with("text/event-stream")) {
        return false;
    }
    let mut body = Vec::new();
    if answer.read_to(&mut body, 64 * 1024).is_err() {
        return false;
    }
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .is_some_and(|value| value.get("jsonrpc").is_some())
        || String::from_utf8_lossy(&body).contains("\"jsonrpc\"")
}

fn redirected(answer: &Answer<'_>, url: &str) -> String {
    let target = super::redirect_target(&answer.headers, url);
    format!("The server redirected to {target}. Keybearer never follows redirects; if that is the right server, use its address instead.")
}

/// Ends the session a successful `initialize` opened (polite, not needed).
fn end_session(client: &Http, url: &str, answer: &Answer<'_>) {
    if let Some(session) = answer
        .headers
        .get(SESSION_HEADER)
        .and_then(|value| value.to_str().ok())
    {
        let _ = client.send(
            Method::DELETE,
            url,
            &Auth::new(),
            &[(SESSION_HEADER, session)],
            None,
        );
    }
}
