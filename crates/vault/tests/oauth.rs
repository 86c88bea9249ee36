//! OAuth sign-in against a real authorization server and MCP server on the
//! official Python SDK (`tests/oauth-peer/server.py`, in the `.venv` that
//! `make test` prepares): discovery, dynamic and pre-registered clients,
//! PKCE, `state`, `iss`, `resource`, refresh with rotation, expiry,
//! revocation, scope step-up, and the refusals. The sign-in listener
//! against hostile programs on this computer: `oauth_listener.rs`.

mod support;

use support::oauth_peer;

use std::time::Duration;

use keybearer_vault::oauth::{
    discover, parse_insufficient_scope, sign_in, start_sign_in, step_up_scope, ClientChoice,
    OAuthError, OAuthSecret, PreRegisteredClient, RegistrationSource, Revocation, SignInOptions,
    StoredOAuth, TokenEndpointAuth,
};
use oauth_peer::{nobody, sha256_hex, Browser, McpSession, OAuthPeer};
use serde_json::json;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Signs in to `peer` with a stand-in browser.
fn signed_in(peer: &OAuthPeer, options: &SignInOptions) -> StoredOAuth {
    let browser = Browser::new();
    let stored = sign_in(&peer.url, options, &|url| browser.open(url))
        .unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    let page = browser.page().expect("the browser got a page");
    assert!(page.contains("Signed in"), "{page}");
    stored
}

fn sign_in_error(peer: &OAuthPeer, browser: &Browser, options: &SignInOptions) -> OAuthError {
    match sign_in(&peer.url, options, &|url| browser.open(url)) {
        Ok(_) => panic!("sign-in should have failed"),
        Err(error) => error,
    }
}

fn secrets_of(stored: &StoredOAuth) -> Vec<String> {
    let mut secrets = vec![stored.grant.access_token.expose_secret().to_string()];
    if let Some(refresh) = &stored.grant.refresh_token {
        secrets.push(refresh.expose_secret().to_string());
    }
    secrets
}

fn assert_no_secret(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret leaked into: {text}"
        );
    }
}

#[test]
fn full_sign_in_with_dynamic_registration_pkce_state_iss_and_resource() {
    let peer = OAuthPeer::start(&[]);
    let stored = signed_in(&peer, &SignInOptions::default());

    assert_eq!(stored.server_url, peer.url);
    assert_eq!(
        stored.resource, peer.url,
        "RFC 8707 resource = the MCP server"
    );
    let registration = &stored.registration;
    assert_eq!(registration.source, RegistrationSource::Dynamic);
    assert_eq!(registration.token_endpoint_auth, TokenEndpointAuth::None);
    assert!(registration.client_secret.is_none());
    assert_eq!(registration.issuer, peer.issuer);
    assert_eq!(
        registration.token_endpoint,
        format!("{}/token", peer.issuer)
    );
    assert_eq!(
        registration.revocation_endpoint.as_deref(),
        Some(format!("{}/revoke", peer.issuer).as_str())
    );
    let redirect = registration.redirect_uri.as_deref().expect("redirect uri");
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"));

    let grant = &stored.grant;
    assert_eq!(grant.token_type, "Bearer");
    assert_eq!(
        grant.scope.as_deref(),
        Some("mcp"),
        "the 401 challenge's scope"
    );
    assert!(grant.refresh_token.is_some());
    let expires_at = grant.expires_at.expect("expiry");
    assert!((expires_at - now() - 5).abs() <= 2, "5-second tokens");

    let stats = peer.stats();
    assert_eq!(stats["registrations"], 1);
    assert_eq!(stats["authorizations"], 1);
    assert_eq!(stats["code_exchanges"], 1);
    assert_eq!(stats["resource_mismatches"], 0);

    // The MCP endpoint takes the access token, and sees exactly it.
    let token = grant.access_token.expose_secret();
    let session = McpSession::open(&peer.url, token).expect("initialize with the token");
    assert_eq!(session.tool_text("whoami"), sha256_hex(token));
    let refused = McpSession::open(&peer.url, "not-a-token")
        .err()
        .expect("401");
    assert_eq!(refused.status, 401);

    // Nothing prints a secret; the sealed form round-trips.
    let secrets = secrets_of(&stored);
    assert_no_secret(&format!("{stored:?}"), &secrets);
    let sealed = stored.to_sealed_json().expect("sealed json");
    assert_eq!(
        StoredOAuth::from_sealed_json(&sealed).expect("read back"),
        stored
    );
}

#[test]
fn refresh_rotates_the_refresh_token_and_the_old_one_is_refused() {
    let peer = OAuthPeer::start(&[]);
    let mut stored = signed_in(&peer, &SignInOptions::default());
    let before = stored.clone();

    stored.refresh().expect("refresh");
    let old_refresh = before.grant.refresh_token.as_ref().expect("old");
    let new_refresh = stored.grant.refresh_token.as_ref().expect("new");
    assert_ne!(old_refresh, new_refresh, "rotated");
    assert_ne!(before.grant.access_token, stored.grant.access_token);
    assert_eq!(stored.grant.scope.as_deref(), Some("mcp"));
    assert_eq!(peer.stat("refreshes"), 1);
    assert_eq!(
        peer.stat("resource_mismatches"),
        0,
        "resource sent on refresh"
    );

    let token = stored.grant.access_token.expose_secret();
    let session = McpSession::open(&peer.url, token).expect("new access token works");
    assert_eq!(session.tool_text("whoami"), sha256_hex(token));

    // The old refresh token is gone: a clear "sign in again".
    let mut stale = before.clone();
    let error = stale.refresh().expect_err("old refresh token");
    assert_eq!(error.code(), "oauth_invalid_grant");
    assert!(error.needs_sign_in());
    assert!(error.to_string().contains("Sign in again"), "{error}");
    let mut secrets = secrets_of(&before);
    secrets.extend(secrets_of(&stored));
    assert_no_secret(&error.to_string(), &secrets);
}

#[test]
fn an_expired_access_token_is_refused_and_a_refresh_brings_a_working_one() {
    let peer = OAuthPeer::start(&[]);
    let mut stored = signed_in(&peer, &SignInOptions::default());
    let expires_at = stored.grant.expires_at.expect("expiry");
    let token = stored.grant.access_token.expose_secret().to_string();
    McpSession::open(&peer.url, &token).expect("fresh token works");

    let wait = (expires_at - now() + 1).max(0) as u64;
    std::thread::sleep(Duration::from_secs(wait) + Duration::from_millis(200));
    assert!(stored.grant.expires_within(now(), 0));
    let expired = McpSession::open(&peer.url, &token).err().expect("expired");
    assert_eq!(expired.status, 401);

    stored.refresh().expect("refresh after expiry");
    assert!(!stored.grant.expires_within(now(), 2));
    let fresh = stored.grant.access_token.expose_secret();
    let session = McpSession::open(&peer.url, fresh).expect("refreshed token works");
    assert_eq!(session.tool_text("whoami"), sha256_hex(fresh));
}

#[test]
fn revocation_ends_the_grant() {
    let peer = OAuthPeer::start(&[]);
    let mut stored = signed_in(&peer, &SignInOptions::default());
    let token = stored.grant.access_token.expose_secret().to_string();
    McpSession::open(&peer.url, &token).expect("works before");

    assert_eq!(stored.revoke().expect("revoke"), Revocation::Revoked);
    assert!(peer.stat("revocations") >= 1);
    let refused = McpSession::open(&peer.url, &token).err().expect("revoked");
    assert_eq!(refused.status, 401);
    let error = stored.refresh().expect_err("refresh token revoked too");
    assert_eq!(error.code(), "oauth_invalid_grant");

    // A service without a revocation endpoint: nothing to do, and said so.
    stored.registration.revocation_endpoint = None;
    assert_eq!(
        stored.revoke().expect("no endpoint"),
        Revocation::NotSupported
    );
}

#[test]
fn an_answer_from_another_issuer_is_refused() {
    let peer = OAuthPeer::start(&["--wrong-iss"]);
    let error = sign_in_error(&peer, &Browser::new(), &SignInOptions::default());
    assert_eq!(error.code(), "oauth_iss_mismatch", "{error}");
    assert!(error.to_string().contains("not-this-issuer"), "{error}");
    assert_eq!(peer.stat("code_exchanges"), 0);
}

#[test]
fn a_plain_http_authorization_server_elsewhere_is_refused() {
    let peer = OAuthPeer::start(&["--advertise-as", "http://auth.example.com"]);
    let error = discover(&peer.url).expect_err("insecure AS");
    assert_eq!(error.code(), "oauth_insecure_url", "{error}");
    let message = error.to_string();
    assert!(message.contains("http://auth.example.com"), "{message}");
    assert!(message.contains("https://"), "{message}");
    let error = sign_in_error(&peer, &Browser::new(), &SignInOptions::default());
    assert_eq!(error.code(), "oauth_insecure_url");
    assert_eq!(peer.stat("registrations"), 0);
}

#[test]
fn a_redirect_from_the_token_endpoint_is_refused_not_followed() {
    let peer = OAuthPeer::start(&["--token-redirect"]);
    let error = sign_in_error(&peer, &Browser::new(), &SignInOptions::default());
    assert_eq!(error.code(), "oauth_redirected", "{error}");
    assert!(error.to_string().contains(&peer.base), "{error}");
    assert_eq!(peer.stat("token_redirects"), 1);
    assert_eq!(peer.stat("redirect_followed"), 0);

    // The same on refresh.
    peer.config(json!({"token_redirect": false}));
    let mut stored = signed_in(&peer, &SignInOptions::default());
    peer.config(json!({"token_redirect": true}));
    let error = stored.refresh().expect_err("redirected refresh");
    assert_eq!(error.code(), "oauth_redirected");
    assert_eq!(peer.stat("redirect_followed"), 0);
}

#[test]
fn a_refused_refresh_asks_for_a_new_sign_in() {
    let peer = OAuthPeer::start(&[]);
    let mut stored = signed_in(&peer, &SignInOptions::default());
    let secrets = secrets_of(&stored);
    reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("{}/test/fail-refresh", peer.base))
        .send()
        .expect("switch");
    let error = stored.refresh().expect_err("refresh refused");
    assert_eq!(error.code(), "oauth_invalid_grant");
    assert!(error.needs_sign_in());
    let message = error.to_string();
    assert!(message.contains("Sign in again"), "{message}");
    assert!(message.contains("no longer valid"), "{message}");
    assert_no_secret(&message, &secrets);
    assert_eq!(peer.stat("refresh_failures"), 1);
}

#[test]
fn insufficient_scope_is_read_and_a_step_up_sign_in_gets_it() {
    let peer = OAuthPeer::start(&[]);
    let stored = signed_in(&peer, &SignInOptions::default());
    let session =
        McpSession::open(&peer.url, stored.grant.access_token.expose_secret()).expect("initialize");
    let denied = session.call_tool("admin", json!({}));
    assert_eq!(denied.status, 403);
    let step_up = parse_insufficient_scope(denied.www_authenticate.iter().map(String::as_str))
        .expect("insufficient_scope challenge");
    let required = step_up.scope.expect("scope");
    assert_eq!(required, "mcp admin");
    assert!(step_up
        .resource_metadata
        .expect("resource_metadata")
        .ends_with("/.well-known/oauth-protected-resource/mcp"));

    // Sign in again with the wider scope, keeping the registered client.
    let options = SignInOptions {
        client: ClientChoice::Existing(stored.registration.clone()),
        scope: Some(step_up_scope(stored.grant.scope.as_deref(), &required)),
        ..SignInOptions::default()
    };
    let wider = signed_in(&peer, &options);
    assert_eq!(wider.grant.scope.as_deref(), Some("mcp admin"));
    assert_eq!(wider.registration.client_id, stored.registration.client_id);
    assert_eq!(peer.stat("registrations"), 1, "the client was kept");
    let session =
        McpSession::open(&peer.url, wider.grant.access_token.expose_secret()).expect("initialize");
    assert_eq!(session.tool_text("admin"), "admin ok");
}

#[test]
fn a_client_id_the_user_supplies_is_used_without_registering() {
    let peer = OAuthPeer::start(&[]);
    // An administrator registers two confidential clients beforehand.
    let metadata = |method: &str| {
        json!({
            "client_name": "given to the user",
            "redirect_uris": ["http://127.0.0.1:1/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": method,
        })
    };
    for (method, chosen) in [
        ("client_secret_basic", None),
        (
            "client_secret_post",
            Some(TokenEndpointAuth::ClientSecretPost),
        ),
    ] {
        let client = peer.register(metadata(method));
        let client_id = client["client_id"].as_str().expect("id").to_string();
        let secret = client["client_secret"]
            .as_str()
            .expect("secret")
            .to_string();
        let options = SignInOptions {
            client: ClientChoice::PreRegistered(PreRegisteredClient {
                client_id: client_id.clone(),
                client_secret: Some(OAuthSecret::new(secret.clone())),
                token_endpoint_auth: chosen,
            }),
            ..SignInOptions::default()
        };
        let mut stored = signed_in(&peer, &options);
        let registration = &stored.registration;
        assert_eq!(registration.source, RegistrationSource::PreRegistered);
        assert_eq!(registration.client_id, client_id);
        assert_eq!(registration.token_endpoint_auth.as_str(), method);
        assert!(registration.redirect_uri.is_none());
        stored
            .refresh()
            .expect("refresh as the confidential client");
        let debug = format!("{stored:?}");
        assert!(!debug.contains(&secret), "client secret in {debug}");

        // A wrong secret is refused, without being quoted.
        let mut wrong = stored.clone();
        wrong.registration.client_secret = Some(OAuthSecret::new("wrong-secret-value".into()));
        let error = wrong.refresh().expect_err("wrong secret");
        assert_eq!(error.code(), "oauth_token_refused", "{error}");
        assert!(error.needs_sign_in(), "invalid_client");
        assert!(!error.to_string().contains("wrong-secret-value"));
    }
    assert_eq!(peer.stat("registrations"), 2, "only the administrator's");
}

#[test]
fn without_registration_and_without_a_client_id_sign_in_says_so() {
    let peer = OAuthPeer::start(&["--no-registration"]);
    let error = sign_in_error(&peer, &Browser::new(), &SignInOptions::default());
    assert_eq!(error.code(), "oauth_no_client", "{error}");
    assert!(error.to_string().contains("client ID"), "{error}");
    let empty = SignInOptions {
        client: ClientChoice::PreRegistered(PreRegisteredClient {
            client_id: "  ".into(),
            client_secret: None,
            token_endpoint_auth: None,
        }),
        ..SignInOptions::default()
    };
    assert_eq!(
        sign_in_error(&peer, &Browser::new(), &empty).code(),
        "oauth_invalid_input"
    );
}

#[test]
fn discovery_falls_back_to_well_known_addresses_and_openid_configuration() {
    // No resource_metadata in the 401; the AS under a path, with only
    // OpenID Connect discovery.
    let peer = OAuthPeer::start(&[
        "--omit-resource-metadata",
        "--issuer-path",
        "/tenant",
        "--metadata",
        "oidc",
    ]);
    let discovery = discover(&peer.url).expect("discovery");
    assert_eq!(
        discovery.resource_metadata_url,
        format!("{}/.well-known/oauth-protected-resource/mcp", peer.base)
    );
    assert_eq!(
        discovery.auth_server.issuer,
        format!("{}/tenant", peer.base)
    );
    assert_eq!(
        discovery.auth_server_metadata_url,
        format!("{}/.well-known/openid-configuration/tenant", peer.base)
    );
    assert_eq!(discovery.challenge_scope.as_deref(), Some("mcp"));
    assert!(
        discovery
            .auth_server
            .authorization_response_iss_parameter_supported
    );
    let stored = signed_in(&peer, &SignInOptions::default());
    assert_eq!(
        stored.registration.token_endpoint,
        format!("{}/tenant/token", peer.base)
    );
}

#[test]
fn metadata_for_another_issuer_is_refused() {
    let peer = OAuthPeer::start(&["--wrong-metadata-issuer"]);
    let error = discover(&peer.url).expect_err("issuer mismatch");
    assert_eq!(error.code(), "oauth_issuer_mismatch", "{error}");
}

#[test]
fn sign_in_gives_up_after_its_timeout_and_can_be_cancelled() {
    let peer = OAuthPeer::start(&[]);
    let options = SignInOptions {
        timeout: Duration::from_millis(300),
        ..SignInOptions::default()
    };
    let error = sign_in(&peer.url, &options, &nobody).expect_err("nobody answered");
    assert_eq!(error.code(), "oauth_sign_in_timed_out");

    let pending = start_sign_in(&peer.url, &SignInOptions::default()).expect("start");
    assert!(pending
        .authorization_url()
        .contains("code_challenge_method=S256"));
    assert!(pending.redirect_uri().starts_with("http://127.0.0.1:"));
    let cancel = pending.cancel_handle();
    let waiting = std::thread::spawn(move || pending.finish());
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let error = waiting.join().expect("thread").expect_err("cancelled");
    assert_eq!(error.code(), "oauth_cancelled");
}

#[test]
fn a_failing_opener_is_reported() {
    let peer = OAuthPeer::start(&[]);
    let error = sign_in(&peer.url, &SignInOptions::default(), &|_| {
        Err(keybearer_vault::Error::Unsupported(
            "no browser here".into(),
        ))
    })
    .expect_err("no browser");
    assert_eq!(error.code(), "oauth_browser");
    assert!(error.to_string().contains("no browser here"));
}

#[test]
fn a_server_without_oauth_is_told_apart() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let error = discover(&format!("http://127.0.0.1:{port}/mcp")).expect_err("down");
    assert_eq!(error.code(), "oauth_unreachable", "{error}");
    let error = discover("http://mcp.example.com/mcp").expect_err("plain http");
    assert_eq!(error.code(), "oauth_invalid_input", "{error}");
}
