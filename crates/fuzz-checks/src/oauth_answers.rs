//! `oauth_answers`: what a sign-in reads from servers it does not control,
//! for the MCP server `https://mcp.example.com/v1/mcp`.
//!
//! Input, in parts cut at `0xFF`: (1) a byte choosing the token answer's
//! status, a byte choosing the registration answer's, then the 401's
//! `WWW-Authenticate` values, one a line; (2) the protected resource
//! metadata; (3) the authorization server metadata; (4) the token
//! endpoint's answer; (5) the registration endpoint's answer.
//!
//! Properties: discovery that succeeds names a resource on the server's
//! origin that is the server or a folder above it, and a sign-in service
//! whose endpoints are https (or http to this computer) with no query in
//! its issuer; a grant holds a token that fits an `Authorization` header
//! and a lifetime of at most ten years; a registration a printable client
//! ID, with a secret whenever it must authenticate; and every error, the
//! words a user reads, holds no control or bidirectional character (a
//! server's text could otherwise rewrite the terminal), nor, after a token
//! request, any secret it sent (code, verifier, client secret, refresh
//! token).

use http::HeaderValue;
use keybearer_base::text::printable;
use keybearer_oauth::fuzzing::{client, discovery, registration_answer, scopes, token_answer};
use keybearer_oauth::{AuthServerMetadata, OAuthError, OAuthSecret, TokenEndpointAuth};
use url::Url;

use crate::input::{byte, parts};

const SERVER: &str = "https://mcp.example.com/v1/mcp";
const CODE: &str = "code-5ecret-fuzz-0001";
const VERIFIER: &str = "verifier-5ecret-fuzz-0002";
const CLIENT_SECRET: &str = "client-5ecret-fuzz-0003";
const REFRESH: &str = "refresh-5ecret-fuzz-0004";
const TEN_YEARS: i64 = 10 * 365 * 24 * 3600;

pub fn oauth_answers(data: &[u8]) {
    let parts = parts(data);
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    let head = part(0);
    let token_status = [200, 400, 401, 503][usize::from(byte(head, 0) % 4)];
    let registration_status = [201, 400, 200, 500][usize::from(byte(head, 1) % 4)];
    let challenges = String::from_utf8_lossy(head.get(2..).unwrap_or_default()).into_owned();
    let challenges: Vec<&str> = challenges.lines().collect();

    let server = Url::parse(SERVER).expect("the server URL");
    let found = discovery(&server, &challenges, part(1), part(2));
    let metadata = match &found {
        Ok(found) => {
            discovered(&server, found);
            let (requested, registered) = scopes(None, found);
            for scope in [requested, registered].into_iter().flatten() {
                assert!(!scope.trim().is_empty());
            }
            found.auth_server.clone()
        }
        Err(error) => {
            shown(error);
            fallback()
        }
    };

    let registration = registration_answer(
        registration_status,
        part(4),
        &metadata,
        "http://127.0.0.1:33418/callback",
    );
    match &registration {
        Ok(registered) => {
            let id = &registered.client_id;
            assert!(!id.is_empty() && id.trim() == id, "client ID {id:?}");
            assert!(
                id.chars().all(|c| matches!(c, ' '..='~')),
                "client ID {id:?}"
            );
            if registered.token_endpoint_auth != TokenEndpointAuth::None {
                assert!(registered.client_secret.is_some());
            }
        }
        // A registration sends no secret: its refusal is only read for
        // what it shows.
        Err(error) => {
            shown(error);
        }
    }

    let client = client(&metadata, Some(CLIENT_SECRET));
    let previous = OAuthSecret::new(REFRESH.to_string());
    let answer = token_answer(
        token_status,
        part(3),
        &client,
        &[CODE, VERIFIER, REFRESH],
        Some(&previous),
        Some("read write"),
    );
    match answer {
        Ok(grant) => {
            let token = grant.access_token.expose_secret();
            assert!(!token.is_empty() && !token.contains(char::is_whitespace));
            HeaderValue::from_str(&format!("Bearer {token}"))
                .expect("an access token fits an Authorization header");
            assert_eq!(grant.token_type, "Bearer");
            let obtained = grant.obtained_at.expect("when it was obtained");
            if let Some(expires) = grant.expires_at {
                assert!(
                    (obtained..=obtained + TEN_YEARS).contains(&expires),
                    "a lifetime of {} s",
                    expires - obtained
                );
            }
            let refresh = grant.refresh_token.expect("the refresh token is kept");
            assert!(!refresh.expose_secret().is_empty());
        }
        Err(error) => said(&error),
    }
}

/// What a successful discovery must hold.
fn discovered(server: &Url, found: &keybearer_oauth::Discovery) {
    let resource = Url::parse(&found.resource).expect("the resource is an address");
    assert_eq!(
        resource.origin(),
        server.origin(),
        "a resource on another origin"
    );
    let folder = resource.path().trim_end_matches('/');
    let path = server.path().trim_end_matches('/');
    assert!(
        path == folder || path.starts_with(&format!("{folder}/")),
        "the resource {} is not this server or above it",
        found.resource
    );
    let metadata = &found.auth_server;
    let issuer = Url::parse(&metadata.issuer).expect("the issuer is an address");
    assert!(issuer.query().is_none(), "an issuer with a query");
    for endpoint in [
        Some(&metadata.issuer),
        Some(&metadata.authorization_endpoint),
        Some(&metadata.token_endpoint),
        metadata.registration_endpoint.as_ref(),
        metadata.revocation_endpoint.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(
            safe_address(endpoint),
            "an endpoint Keybearer may not use: {endpoint:?}"
        );
    }
    assert!(metadata
        .code_challenge_methods_supported
        .iter()
        .any(|m| m == "S256"));
}

/// https, or http to this computer; no user name or password, no `#`.
fn safe_address(address: &str) -> bool {
    let Ok(url) = Url::parse(address.trim()) else {
        return false;
    };
    let loopback = url
        .host()
        .is_some_and(keybearer_base::server_url::is_loopback);
    let scheme = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    scheme
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
}

/// The words a user reads after a request that sent secrets: none of them,
/// and nothing that could rewrite a terminal.
fn said(error: &OAuthError) {
    let text = shown(error);
    for secret in [CODE, VERIFIER, CLIENT_SECRET, REFRESH] {
        assert!(!text.contains(secret), "an error shows a secret: {text:?}");
    }
}

/// The words a user reads: not blank, nothing that could rewrite a terminal.
fn shown(error: &OAuthError) -> String {
    let text = error.to_string();
    assert!(!text.trim().is_empty());
    assert_eq!(printable(&text), text, "an error holds control characters");
    text
}

/// A sign-in service's metadata when discovery failed, so the token and
/// registration answers are read all the same.
fn fallback() -> AuthServerMetadata {
    AuthServerMetadata {
        issuer: "https://auth.example.com".to_string(),
        authorization_endpoint: "https://auth.example.com/authorize".to_string(),
        token_endpoint: "https://auth.example.com/token".to_string(),
        registration_endpoint: Some("https://auth.example.com/register".to_string()),
        revocation_endpoint: None,
        response_types_supported: None,
        code_challenge_methods_supported: vec!["S256".to_string()],
        authorization_response_iss_parameter_supported: false,
        token_endpoint_auth_methods_supported: None,
        scopes_supported: Vec::new(),
    }
}
