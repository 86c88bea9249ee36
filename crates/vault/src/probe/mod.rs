//! "Test connection": asks a server, with a token, whether it is an MCP
//! server that accepts it, and reports in plain words what happened and which
//! protocol revision the server speaks.
//!
//! - Streamable HTTP (`streamable`): a 2026-07-28 `server/discover` first;
//!   if the server does not know it, a 2025 `initialize`.
//! - Legacy SSE (`sse`): GET the event stream, POST an `initialize` to the
//!   endpoint it names, read the answer from the stream.
//!
//! The JSON-RPC messages and how answers are read are in `messages`.
//! Which transport a server speaks, asked without a token: `transport`.
//! Blocking: callers on an async runtime must run it on a blocking thread.

mod messages;
mod sse;
mod streamable;
mod transport;

use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::Full;
use serde::Serialize;

use crate::credential_secret::CredentialSecret;
use crate::model::Protocol;
use crate::upstream::blocking::{Answer, BlockingClient, Failure};

pub use transport::{find_transport, FoundTransport};

const TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The MCP revision the server speaks (e.g. `2026-07-28`, `2025-06-18`),
    /// when it answered as an MCP server.
    pub protocol_version: Option<String>,
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
            protocol_version: None,
        }
    }

    /// Success: the server answered as an MCP server and accepted the token.
    fn connected(server_name: Option<String>, revision: Option<String>, status: u16) -> Self {
        let server = match &server_name {
            Some(name) => format!("The MCP server \"{name}\" accepted the token"),
            None => "The MCP server accepted the token".to_string(),
        };
        let revision_note = revision
            .as_deref()
            .map(|revision| format!(" (MCP {revision})"))
            .unwrap_or_default();
        Self {
            outcome: ConnectionOutcome::Ok,
            message: format!("Connected. {server}{revision_note}."),
            server_name,
            http_status: Some(status),
            protocol_version: revision,
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

/// `localhost` comes back as the literal address it will be stored as.
pub fn check_server_url(url: &str) -> crate::Result<UrlCheck> {
    let normalized =
        crate::server_url::pin_localhost(&crate::server_url::normalize_server_url(url)?);
    Ok(UrlCheck {
        suggested_protocol: crate::server_url::guess_protocol(&normalized),
        normalized,
    })
}

/// Tests a token (or a credential's headers) before it is saved. The URL is
/// checked with the same rules as a credential's, so nothing is sent to an
/// address the vault would refuse.
pub fn test_connection(
    url: &str,
    protocol: Option<Protocol>,
    secret: &CredentialSecret,
) -> crate::Result<ConnectionTest> {
    let checked = check_server_url(url)?;
    Ok(probe(
        &checked.normalized,
        protocol.unwrap_or(checked.suggested_protocol),
        secret,
    ))
}

/// The credential's headers, values marked sensitive.
pub(super) type Auth = HeaderMap;

/// The proxy's own HTTP client (`upstream`), blocking: never through an
/// environment proxy for this computer, redirects never followed, a loopback
/// listener checked to be our user's before the token is written.
pub(super) struct Http {
    client: BlockingClient,
}

impl Http {
    /// Sends one request; the whole exchange has [`TIMEOUT`].
    pub(super) fn send(
        &self,
        method: Method,
        url: &str,
        auth: &Auth,
        headers: &[(HeaderName, &str)],
        body: Option<String>,
    ) -> Result<Answer<'_>, ConnectionTest> {
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in auth {
            request = request.header(name, value);
        }
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| {
                ConnectionTest::new(
                    ConnectionOutcome::Unreachable,
                    "The server's address cannot be used for a request.",
                    None,
                )
            })?;
        self.client
            .send(request, TIMEOUT)
            .map_err(|failure| transport_failure(&failure))
    }
}

/// Probes `url` (already normalised) with the credential's headers.
pub(crate) fn probe(url: &str, protocol: Protocol, secret: &CredentialSecret) -> ConnectionTest {
    // A server on this computer must be a trusted user's (both address
    // families for `localhost`) before the token is sent.
    if let Err(refusal) = url::Url::parse(url).map_or(Ok(()), |url| {
        keybearer_platform::loopback::check_url_listeners(&url)
    }) {
        return ConnectionTest::new(
            ConnectionOutcome::Unreachable,
            format!("Not tested: {refusal}."),
            None,
        );
    }
    let client = match BlockingClient::new() {
        Ok(client) => Http { client },
        Err(failure) => return transport_failure(&failure),
    };
    let mut auth = Auth::new();
    for (name, value) in secret.http_headers().unwrap_or_default() {
        auth.append(name, value);
    }
    let result = match protocol {
        Protocol::StreamableHttp => streamable::probe(&client, url, &auth),
        Protocol::Sse => sse::probe(&client, url, &auth),
    };
    let mut test = result.unwrap_or_else(|outcome| outcome);
    for (_, value) in secret.pairs() {
        let bare = value.rsplit(' ').next().unwrap_or(&value);
        test = redact(redact(test, &value), bare);
    }
    test
}

/// Whatever a server sent back (its name, an error text) is shown to the
/// user; a server that echoes the token does not get it printed. A token of
/// a few characters would match ordinary words, and no issued token is that
/// short, so those are left alone.
fn redact(mut test: ConnectionTest, token: &str) -> ConnectionTest {
    const HIDDEN: &str = "[hidden]";
    const SHORTEST_REDACTED: usize = 8;
    if token.len() < SHORTEST_REDACTED {
        return test;
    }
    if test.message.contains(token) {
        test.message = test.message.replace(token, HIDDEN);
    }
    for field in [&mut test.server_name, &mut test.protocol_version] {
        if field.as_deref().is_some_and(|text| text.contains(token)) {
            *field = field.take().map(|text| text.replace(token, HIDDEN));
        }
    }
    test
}

/// A probe ends early with `Err` (a refusal, a failure) or with `Ok` (success).
type Probe = Result<ConnectionTest, ConnectionTest>;

fn content_type(response: &Answer<'_>) -> String {
    response
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The answers that end a test whatever was asked: the token was refused
/// (401, 403), or the server sent us elsewhere (never followed).
/// `url`: the address asked (a relative redirect is said against it).
fn check_refusal(response: &Answer<'_>, url: &str) -> Result<(), ConnectionTest> {
    let status = response.status;
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
            let target = redirect_target(&response.headers, url);
            Err(ConnectionTest::new(
                ConnectionOutcome::Redirected,
                format!("The server redirected to {target}. Keybearer never follows redirects with your token; if that is the right server, use its address instead."),
                code,
            ))
        }
        _ => Ok(()),
    }
}

/// A refusal, or any status but success, ends the test.
fn check_status(
    response: &Answer<'_>,
    url: &str,
    protocol: Protocol,
) -> Result<(), ConnectionTest> {
    check_refusal(response, url)?;
    let status = response.status;
    if status.is_success() {
        Ok(())
    } else {
        Err(not_mcp(status.as_u16(), protocol))
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

fn transport_failure(failure: &Failure) -> ConnectionTest {
    match failure {
        Failure::Timeout => ConnectionTest::new(
            ConnectionOutcome::Timeout,
            format!("The server did not answer within {} seconds. It may be down or very slow; try again later.", TIMEOUT.as_secs()),
            None,
        ),
        // The cause names the address or the reason (DNS, refused, TLS), never headers.
        Failure::Failed(cause) => ConnectionTest::new(
            ConnectionOutcome::Unreachable,
            format!(
                "Could not reach the server ({cause}). Check the address and your internet connection."
            ),
            None,
        ),
    }
}

/// Where a redirect points, said without what could be secret in it: the
/// address without its query, fragment or user name (a server may redirect
/// to a signed link). A relative target is resolved against `from`.
fn redirect_target(headers: &HeaderMap, from: &str) -> String {
    let target = headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| url::Url::parse(from).ok()?.join(value).ok());
    match target {
        Some(mut target) if matches!(target.scheme(), "http" | "https") => {
            target.set_query(None);
            target.set_fragment(None);
            let _ = target.set_username("");
            let _ = target.set_password(None);
            target.to_string()
        }
        _ => "another address".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_messages_name_the_server_and_the_revision() {
        let both = ConnectionTest::connected(Some("srv".into()), Some("2026-07-28".into()), 200);
        assert_eq!(
            both.message,
            "Connected. The MCP server \"srv\" accepted the token (MCP 2026-07-28)."
        );
        let neither = ConnectionTest::connected(None, None, 200);
        assert_eq!(
            neither.message,
            "Connected. The MCP server accepted the token."
        );
    }

    #[test]
    fn a_token_echoed_by_the_server_is_hidden() {
        let echoed = ConnectionTest::connected(Some("name tok_s3cret".into()), None, 200);
        let shown = redact(echoed, "tok_s3cret");
        assert!(!shown.message.contains("tok_s3cret"), "{}", shown.message);
        assert_eq!(shown.server_name.as_deref(), Some("name [hidden]"));
        let short = ConnectionTest::connected(Some("test".into()), None, 200);
        assert_eq!(redact(short.clone(), "t"), short);
    }

    #[test]
    fn a_redirect_is_said_without_its_query_fragment_or_user() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LOCATION,
            "https://user:pw@other.example/mcp/?sig=SECRET#frag"
                .parse()
                .expect("header"),
        );
        let said = redirect_target(&headers, "https://mcp.example/mcp");
        assert_eq!(said, "https://other.example/mcp/");
        headers.insert(LOCATION, "/v2/mcp?token=SECRET".parse().expect("header"));
        let said = redirect_target(&headers, "https://mcp.example/mcp");
        assert_eq!(said, "https://mcp.example/v2/mcp");
        headers.insert(LOCATION, "javascript:alert(1)".parse().expect("header"));
        assert_eq!(
            redirect_target(&headers, "https://mcp.example/mcp"),
            "another address"
        );
    }
}
