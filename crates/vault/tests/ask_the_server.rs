//! Asking a server how it signs in and which transport it speaks, without a
//! credential (`keybearer_vault::ask_the_server`, what "Other server" and
//! `credential add --url` use): the official Python SDK's servers on both
//! transports — Streamable HTTP at /mcp, SSE at /sse, and SSE at an address
//! that does not say so (/events) — answer with a plain 401 (a token); the
//! OAuth test peer's 401 names its resource metadata (OAuth); an address
//! nothing listens on is answered with the reason and no transport.

mod support;

use keybearer_vault::{ask_the_server, AskedServer, Protocol, SignInWay};
use support::oauth_peer::OAuthPeer;
use support::peers::PythonServer;

fn asked(url: &str) -> AskedServer {
    ask_the_server(url, None).unwrap_or_else(|error| panic!("{url}: {error}"))
}

#[test]
fn the_transport_is_found_by_asking_streamable_http_first_then_sse() {
    let token = "tok_ask_the_server_0123456789";
    let streamable = PythonServer::with_token("streamable_http", token);
    let sse = PythonServer::with_token("sse", token);
    let events = PythonServer::with_token_and("sse", token, &["--sse-path", "/events"]);
    assert!(events.url.ends_with("/events"), "{}", events.url);

    for (server, expected) in [
        (&streamable, Protocol::StreamableHttp),
        (&sse, Protocol::Sse),
        (&events, Protocol::Sse),
    ] {
        let answer = asked(&server.url);
        assert_eq!(
            answer.protocol,
            Some(expected),
            "{}: {answer:?}",
            server.url
        );
        // A plain 401: no OAuth, so a token.
        assert_eq!(answer.way, SignInWay::Token, "{}", server.url);
        assert_eq!(answer.problem, None, "{}", server.url);
    }
}

#[test]
fn a_401_naming_resource_metadata_means_oauth() {
    let peer = OAuthPeer::start(&[]);
    let answer = asked(&peer.url);
    assert_eq!(answer.way, SignInWay::Oauth);
    assert_eq!(answer.protocol, Some(Protocol::StreamableHttp));
    assert_eq!(answer.problem, None);
    assert_eq!(peer.stat("authorizations"), 0, "nothing started");
    assert_eq!(peer.stat("registrations"), 0, "nothing registered");
}

#[test]
fn a_server_that_speaks_no_mcp_there_keeps_the_guess_and_says_why() {
    // The OAuth peer's own metadata address is no MCP endpoint.
    let peer = OAuthPeer::start(&[]);
    let answer = asked(&format!("{}/test/stats", peer.base));
    assert_eq!(answer.protocol, None, "{answer:?}");
    let problem = answer.problem.expect("a reason");
    assert!(problem.contains("not like an MCP server"), "{problem}");
}
