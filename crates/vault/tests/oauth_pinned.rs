//! Sign-in where the service publishes no OAuth metadata at all (as GitHub's
//! OAuth apps): the OAuth test peer started with `--hide-metadata` (no
//! resource or authorization server document, a plain 401), a client the
//! user made there beforehand, and the endpoints known beforehand
//! (`PinnedEndpoints`, what a catalog entry pins). Without them discovery
//! says so; with them sign-in, refresh and signing in again as the same
//! client work; metadata that is there but wrong is never overruled.

mod support;

use keybearer_vault::oauth::{
    sign_in, ClientChoice, OAuthSecret, PinnedEndpoints, PreRegisteredClient, RegistrationSource,
    SignInOptions, StoredOAuth, TokenEndpointAuth,
};
use serde_json::json;
use support::oauth_peer::{Browser, McpSession, OAuthPeer};

/// A confidential client made "by hand" at the peer (the user's OAuth app).
fn users_app(peer: &OAuthPeer) -> (String, String) {
    let client = peer.register(json!({
        "client_name": "made by the user",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post",
    }));
    (
        client["client_id"].as_str().expect("id").to_string(),
        client["client_secret"]
            .as_str()
            .expect("secret")
            .to_string(),
    )
}

fn pinned(peer: &OAuthPeer) -> PinnedEndpoints {
    PinnedEndpoints {
        authorization_endpoint: format!("{}/authorize", peer.base),
        token_endpoint: format!("{}/token", peer.base),
        issuer: None,
    }
}

fn options(client: ClientChoice, pinned: Option<PinnedEndpoints>) -> SignInOptions {
    SignInOptions {
        client,
        pinned,
        ..SignInOptions::default()
    }
}

fn app_client(id: &str, secret: &str) -> ClientChoice {
    ClientChoice::PreRegistered(PreRegisteredClient {
        client_id: id.to_string(),
        client_secret: Some(OAuthSecret::new(secret.to_string())),
        token_endpoint_auth: None,
    })
}

fn try_sign_in(peer: &OAuthPeer, options: &SignInOptions) -> Result<StoredOAuth, String> {
    let browser = Browser::new();
    sign_in(&peer.url, options, &|url| browser.open(url))
        .map_err(|error| format!("{}: {error}", error.code()))
}

#[test]
fn pinned_endpoints_sign_in_where_no_metadata_is_published() {
    let peer = OAuthPeer::start(&["--hide-metadata", "--access-token-lifetime", "60"]);
    let (id, secret) = users_app(&peer);

    // Discovery alone finds nothing: the user is told, nothing is started.
    let refused =
        try_sign_in(&peer, &options(app_client(&id, &secret), None)).expect_err("no metadata");
    assert!(refused.starts_with("oauth_not_supported"), "{refused}");
    assert_eq!(peer.stat("authorizations"), 0);

    // With the endpoints known beforehand: signed in as the user's app.
    let stored = try_sign_in(
        &peer,
        &options(app_client(&id, &secret), Some(pinned(&peer))),
    )
    .expect("signed in with the pinned endpoints");
    assert_eq!(stored.resource, peer.url);
    let registration = &stored.registration;
    assert_eq!(registration.source, RegistrationSource::PreRegistered);
    assert_eq!(registration.client_id, id);
    assert_eq!(
        registration.token_endpoint_auth,
        TokenEndpointAuth::ClientSecretPost
    );
    assert_eq!(registration.token_endpoint, format!("{}/token", peer.base));
    assert_eq!(registration.issuer, peer.base);
    assert_eq!(peer.stat("registrations"), 1, "only the user's own app");
    let session = McpSession::open(&peer.url, stored.grant.access_token.expose_secret())
        .expect("the MCP server takes the token");
    assert!(!session.tool_text("whoami").is_empty());
    let mut renewed = stored.clone();
    renewed
        .refresh()
        .expect("refreshed at the pinned token endpoint");

    // Signing in again as the same client needs no endpoints from anyone:
    // the earlier sign-in's are used.
    let again = try_sign_in(
        &peer,
        &options(ClientChoice::Existing(stored.registration.clone()), None),
    )
    .expect("signed in again as the same app");
    assert_eq!(again.registration.client_id, id);
    assert_eq!(peer.stat("authorizations"), 2);
    assert_ne!(
        again.grant.access_token.expose_secret(),
        stored.grant.access_token.expose_secret()
    );
}

#[test]
fn metadata_that_is_there_but_wrong_is_never_overruled_by_pinned_endpoints() {
    let peer = OAuthPeer::start(&["--wrong-metadata-issuer", "--no-registration"]);
    let refused = try_sign_in(
        &peer,
        &options(
            app_client("any-client", "any-secret-value"),
            Some(pinned(&peer)),
        ),
    )
    .expect_err("the metadata names another issuer");
    assert!(refused.starts_with("oauth_issuer_mismatch"), "{refused}");
    assert_eq!(peer.stat("authorizations"), 0);
}
