//! Asking a server how it signs in, for a known server whose entry says
//! "ask the server" (what the MCP Registry's entries say) and for an address
//! the user typed (the window's "Other server"); docs/architecture.md,
//! "Known servers".
//!
//! Flow: first the transport (`probe::find_transport`: an MCP `initialize`
//! POSTed without a token, Streamable HTTP; else a GET for SSE's event
//! stream). Then, when the server answered, one unauthenticated discovery
//! (`oauth::discover`: its 401 challenge, the protected resource metadata
//! of RFC 9728 and the authorization server's metadata): OAuth when the
//! server names a usable authorization server (a 401 naming resource
//! metadata); else the header names the entry's publisher declared; else a
//! bearer token (a plain 401). The CLI's `credential add --url` and
//! `--server`, and the desktop's `discover_sign_in`, all decide here.
//!
//! Limits: nothing secret is sent, so no loopback owner check is needed
//! here (Test connection and the proxy do it before a token goes out). A
//! server that could not be asked (unreachable, too slow, a redirect) is
//! answered like one without OAuth and without a transport, with the reason
//! in `problem`; the caller keeps the address's guess (or the entry's).

use keybearer_server_catalog::{Entry, SignIn};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::Protocol;
use crate::oauth::{self, OAuthError};
use crate::probe::{check_server_url, find_transport, FoundTransport};

/// How a server takes its credential, as the server and its entry say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "way", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum SignInWay {
    /// It names an authorization server: sign in through the browser.
    Oauth,
    /// No OAuth; its publisher declared these headers (names only).
    Headers { names: Vec<String> },
    /// No OAuth and no declared headers: a token (`Authorization: Bearer`).
    Token,
}

/// The answer of [`ask_the_server`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AskedServer {
    pub way: SignInWay,
    /// The transport it answered on; `None` when it could not be asked or
    /// answered like neither (then the address's guess, or the entry's).
    pub protocol: Option<Protocol>,
    /// Why the server could not be asked, or answered like no MCP server, in
    /// plain words; `None` when it answered.
    pub problem: Option<String>,
}

/// Asks the server at `url` how it signs in; `entry` is its catalog entry,
/// if any (for the headers its publisher declared). An address Keybearer
/// would refuse for a credential is an error, and nothing is sent to it.
pub fn ask_the_server(url: &str, entry: Option<&Entry>) -> Result<AskedServer> {
    let url = check_server_url(url)?.normalized;
    let without_oauth = |protocol, problem| AskedServer {
        way: declared_headers(entry).map_or(SignInWay::Token, |names| SignInWay::Headers { names }),
        protocol,
        problem,
    };
    let (protocol, unclear) = match find_transport(&url) {
        FoundTransport::Speaks(protocol) => (Some(protocol), None),
        FoundTransport::Unclear(reason) => (None, Some(reason)),
        // Discovery would wait for the same server again.
        FoundTransport::NotAsked(reason) => return Ok(without_oauth(None, Some(reason))),
    };
    let problem = match oauth::discover(&url) {
        Ok(_) => {
            return Ok(AskedServer {
                way: SignInWay::Oauth,
                protocol,
                problem: None,
            })
        }
        Err(error @ (OAuthError::InvalidInput { .. } | OAuthError::InsecureUrl(_))) => {
            return Err(Error::from(error))
        }
        Err(
            error @ (OAuthError::Unreachable { .. }
            | OAuthError::Timeout { .. }
            | OAuthError::Redirected { .. }),
        ) => Some(error.to_string()),
        Err(error) => {
            tracing::info!(%error, "the server names no OAuth sign-in");
            unclear
        }
    };
    Ok(without_oauth(protocol, problem))
}

/// The header names the entry's publisher declared, if it declared any.
fn declared_headers(entry: Option<&Entry>) -> Option<Vec<String>> {
    entry?.sign_in.iter().find_map(|way| match way {
        SignIn::Header { headers } if !headers.is_empty() => {
            Some(headers.iter().map(|header| header.name.clone()).collect())
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_keybearer_refuses_is_an_error_and_nothing_is_asked() {
        for refused in ["http://example.com/mcp", "javascript:alert(1)", ""] {
            let error = ask_the_server(refused, None).expect_err(refused);
            assert_eq!(error.code(), crate::ErrorCode::InvalidInput, "{refused}");
        }
    }

    #[test]
    fn a_server_that_cannot_be_reached_gets_a_token_and_says_why() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("a free port");
        let asked = ask_the_server(&format!("http://127.0.0.1:{port}/mcp"), None).expect("asked");
        assert_eq!(asked.way, SignInWay::Token);
        assert_eq!(asked.protocol, None);
        let problem = asked.problem.expect("a reason");
        assert!(problem.contains("Could not reach"), "{problem}");
    }
}
