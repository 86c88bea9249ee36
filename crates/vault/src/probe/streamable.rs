//! Streamable HTTP: a 2026-07-28 `server/discover` first, since a server
//! built only for that revision refuses a 2025 `initialize` (400, `-32022`
//! "Unsupported protocol version"); a server that does not know discovery
//! gets the `initialize` handshake, which it answers with its own revision.

use http::header::{HeaderName, ACCEPT, CONTENT_TYPE};
use http::Method;

use super::messages::{
    discover_request, discover_result, initialize_request, initialize_result, MODERN_REVISIONS,
};
use super::{check_refusal, check_status, content_type, not_mcp, sse, transport_failure};
use super::{ConnectionTest, Http, Probe};
use crate::model::Protocol;
use crate::upstream::blocking::Answer;

const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
const JSON_OR_EVENTS: &str = "application/json, text/event-stream";

pub(super) fn probe(client: &Http, url: &str, auth: &super::Auth) -> Probe {
    match discover(client, url, auth)? {
        Some(connected) => Ok(connected),
        None => initialize(client, url, auth),
    }
}

/// `Ok(Some)`: the server speaks a revision with discovery. `Ok(None)`: it
/// answered something else (400, 404, 405, a JSON-RPC error, not JSON), so
/// try `initialize`. `Err`: the test is over (token refused, redirected,
/// unreachable).
fn discover(
    client: &Http,
    url: &str,
    auth: &super::Auth,
) -> Result<Option<ConnectionTest>, ConnectionTest> {
    let revision = MODERN_REVISIONS[0];
    let response = client.send(
        Method::POST,
        url,
        auth,
        &[
            (ACCEPT, JSON_OR_EVENTS),
            (CONTENT_TYPE, "application/json"),
            (HeaderName::from_static("mcp-protocol-version"), revision),
            (HeaderName::from_static("mcp-method"), "server/discover"),
        ],
        Some(discover_request(revision).to_string()),
    )?;
    check_refusal(&response, url)?;
    if !response.status.is_success() {
        return Ok(None);
    }
    let status = response.status.as_u16();
    let session_id = response.headers.get(SESSION_HEADER).cloned();
    let answer = read_answer(response);
    if let Some(session_id) = session_id {
        end_session(client, url, auth, session_id);
    }
    Ok(answer?.and_then(|body| discover_result(&body, status)))
}

fn initialize(client: &Http, url: &str, auth: &super::Auth) -> Probe {
    let response = client.send(
        Method::POST,
        url,
        auth,
        &[(ACCEPT, JSON_OR_EVENTS), (CONTENT_TYPE, "application/json")],
        Some(initialize_request().to_string()),
    )?;
    check_status(&response, url, Protocol::StreamableHttp)?;
    let session_id = response.headers.get(SESSION_HEADER).cloned();
    let status = response.status.as_u16();
    let outcome = read_answer(response).and_then(|answer| {
        let body = answer.ok_or_else(|| not_mcp(status, Protocol::StreamableHttp))?;
        initialize_result(&body, status, Protocol::StreamableHttp)
    });
    if let Some(session_id) = session_id {
        end_session(client, url, auth, session_id);
    }
    outcome
}

/// The body of a JSON answer, or the probe's answer out of an event stream
/// (`None` when the stream ends without one).
fn read_answer(mut response: Answer<'_>) -> Result<Option<String>, ConnectionTest> {
    if content_type(&response).starts_with("text/event-stream") {
        Ok(sse::read_answer(response))
    } else {
        let mut body = Vec::new();
        response
            .read_to(&mut body, MAX_ANSWER)
            .map_err(|failure| transport_failure(&failure))?;
        Ok(Some(String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Enough for any real answer to a probe.
const MAX_ANSWER: usize = 1024 * 1024;

/// Be polite: end the server-side session the probe opened.
fn end_session(client: &Http, url: &str, auth: &super::Auth, session_id: http::HeaderValue) {
    let Ok(session_id) = session_id.to_str() else {
        return;
    };
    let _ = client.send(
        Method::DELETE,
        url,
        auth,
        &[(SESSION_HEADER, session_id)],
        None,
    );
}
