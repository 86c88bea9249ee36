//! Sign-in against authorization servers set up the way common ones are,
//! each a switch of the real test server (`tests/oauth-peer/server.py`):
//! one that refuses a registration naming a scope it does not list
//! (oidc-provider's way), one that lists no scopes and refuses any named at
//! registration, one that gives a refresh token only for `offline_access`
//! asked with `prompt=consent` (OIDC's way). And the vault's side: an OAuth
//! grant it cannot save (the address already there, the vault or the
//! credential gone) is revoked at the service; a duplicate can be known
//! before signing in. Real keychain, real SQLite files.

mod support;

use support::oauth_peer;

use keybearer_vault::oauth::{sign_in, SignInOptions, StoredOAuth};
use keybearer_vault::{CredentialSecret, Engine, ErrorCode, NewCredential};
use oauth_peer::{sha256_hex, Browser, McpSession, OAuthPeer};
use serde_json::Value;

fn signed_in(peer: &OAuthPeer, options: &SignInOptions) -> StoredOAuth {
    let browser = Browser::new();
    let stored = sign_in(&peer.url, options, &|url| browser.open(url))
        .unwrap_or_else(|error| panic!("sign-in: {} ({error})", error.code()));
    assert!(browser.page().expect("a page").contains("Signed in"));
    stored
}

fn scope_of(request: &Value) -> Option<&str> {
    request.get("scope").and_then(Value::as_str)
}

/// The access token works at the MCP server.
/// The peer with these switches, its access tokens living five minutes:
/// these tests are about what a sign-in asks for and gets, not expiry, and
/// the peer's 5-second default ran out between sign-in and first use under
/// Wine on a busy machine.
fn long_lived_peer(args: &[&str]) -> OAuthPeer {
    let mut args = args.to_vec();
    args.extend(["--access-token-lifetime", "300"]);
    OAuthPeer::start(&args)
}

fn assert_works(peer: &OAuthPeer, stored: &StoredOAuth) {
    let token = stored.grant.access_token.expose_secret();
    let session = McpSession::open(&peer.url, token).expect("the server takes the token");
    assert_eq!(session.tool_text("whoami"), sha256_hex(token));
}

#[test]
fn registration_leaves_out_scopes_the_service_does_not_list() {
    // oidc-provider lists its own scopes; the MCP server asks for `mcp`.
    let peer = long_lived_peer(&[
        "--scopes-supported",
        "openid profile",
        "--reject-unknown-registration-scope",
    ]);
    let stored = signed_in(&peer, &SignInOptions::default());
    let registrations = peer.registrations();
    assert_eq!(registrations.len(), 1, "{registrations:?}");
    assert_eq!(scope_of(&registrations[0]), None, "{registrations:?}");
    assert_eq!(registrations[0]["refused"], false);
    // The authorization request still asks for what the server wants.
    assert_eq!(peer.authorizations()[0]["scope"], "mcp");
    assert_works(&peer, &stored);

    // A service that lists every scope asked for gets them at registration.
    let listing = long_lived_peer(&["--reject-unknown-registration-scope"]);
    signed_in(&listing, &SignInOptions::default());
    let registrations = listing.registrations();
    assert_eq!(registrations.len(), 1, "{registrations:?}");
    assert_eq!(scope_of(&registrations[0]), Some("mcp"));
}

#[test]
fn a_service_listing_no_scopes_gets_a_registration_without_them_when_it_refuses_them() {
    let peer = long_lived_peer(&[
        "--scopes-supported",
        "",
        "--reject-unknown-registration-scope",
    ]);
    let stored = signed_in(&peer, &SignInOptions::default());
    let registrations = peer.registrations();
    assert_eq!(registrations.len(), 2, "{registrations:?}");
    assert_eq!(scope_of(&registrations[0]), Some("mcp"));
    assert_eq!(registrations[0]["refused"], true);
    assert_eq!(scope_of(&registrations[1]), None);
    assert_eq!(registrations[1]["refused"], false);
    assert_eq!(peer.stat("registration_refusals"), 1);
    assert_works(&peer, &stored);
}

#[test]
fn offline_access_is_asked_for_with_consent_where_the_service_lists_it() {
    let peer = long_lived_peer(&[
        "--scopes-supported",
        "mcp admin offline_access",
        "--refresh-only-with-offline-access",
        "--reject-unknown-registration-scope",
    ]);
    let mut stored = signed_in(&peer, &SignInOptions::default());
    let authorizations = peer.authorizations();
    assert_eq!(authorizations[0]["scope"], "mcp offline_access");
    assert_eq!(authorizations[0]["prompt"], "consent");
    assert_eq!(
        scope_of(&peer.registrations()[0]),
        Some("mcp offline_access")
    );
    assert!(stored.grant.refresh_token.is_some(), "a refresh token");
    assert!(stored.grant.renewable());
    assert!(stored
        .grant
        .renewal_notice()
        .contains("keeps this sign-in fresh"));
    let first = stored.grant.access_token.clone();
    stored.refresh().expect("renewed");
    assert_ne!(stored.grant.access_token, first);
    assert_works(&peer, &stored);
}

#[test]
fn a_scope_with_offline_access_carries_consent_and_none_gets_no_refresh_token() {
    // The service does not list offline_access, but grants it when asked
    // with prompt=consent (as the user's `--scope "mcp offline_access"` does).
    let peer = long_lived_peer(&["--refresh-only-with-offline-access"]);
    let asked = signed_in(
        &peer,
        &SignInOptions {
            scope: Some("mcp offline_access".into()),
            ..SignInOptions::default()
        },
    );
    assert_eq!(peer.authorizations()[0]["prompt"], "consent");
    assert!(asked.grant.refresh_token.is_some(), "a refresh token");

    // Not asked: no refresh token, and the notice says so.
    let plain = signed_in(&peer, &SignInOptions::default());
    assert_eq!(peer.authorizations()[1]["prompt"], Value::Null);
    assert!(plain.grant.refresh_token.is_none());
    assert!(!plain.grant.renewable());
    let notice = plain.grant.renewal_notice();
    assert!(
        notice.contains("no way to renew") && notice.contains("sign in again when it expires"),
        "{notice}"
    );
}

fn engine(dir: &std::path::Path) -> (Engine, String) {
    let (mut engine, _) = support::engine::new_engine(dir);
    let vault = engine
        .catalog()
        .create_vault("Work", "development", vec![])
        .expect("vault");
    (engine, vault.id)
}

/// Why the vault cannot save a grant.
enum Unsaved {
    Duplicate,
    VaultGone,
    CredentialGone,
}

/// Each grant the vault could not save is revoked at the service: both its
/// tokens, so the access token stops working at once.
#[test]
fn a_grant_the_vault_cannot_save_is_revoked_at_the_service() {
    let peer = OAuthPeer::start(&["--access-token-lifetime", "600"]);
    let dir = tempfile::tempdir().expect("dir");
    let (mut engine, vault) = engine(dir.path());
    engine
        .catalog()
        .add_credential(
            &vault,
            support::engine::credential(&peer.url, "tok_there_first_0123456789"),
        )
        .expect("a bearer credential first");

    let cases = [
        ("the address is already there", Unsaved::Duplicate),
        ("the vault is gone", Unsaved::VaultGone),
        ("the credential to replace is gone", Unsaved::CredentialGone),
    ];
    for (case, unsaved) in cases {
        let stored = signed_in(&peer, &SignInOptions::default());
        assert_works(&peer, &stored);
        let secret = CredentialSecret::OAuth(Box::new(stored.clone()));
        let new = NewCredential {
            mcp_server_url: peer.url.clone(),
            protocol: None,
            secret,
        };
        let mut catalog = engine.catalog();
        let (refused, code) = match unsaved {
            Unsaved::Duplicate => (catalog.add_credential(&vault, new), ErrorCode::DuplicateUrl),
            Unsaved::VaultGone => (
                catalog.add_credential("vault_gone", new),
                ErrorCode::NotFound,
            ),
            Unsaved::CredentialGone => (
                catalog.replace_secret("cred_gone", new.secret),
                ErrorCode::NotFound,
            ),
        };
        assert_eq!(refused.expect_err(case).code(), code, "{case}");
        let revoked = peer.revoked();
        let refresh = stored.grant.refresh_token.as_ref().expect("refresh token");
        assert!(
            revoked.iter().any(|token| token == refresh.expose_secret()),
            "{case}: the refresh token is revoked"
        );
        let token = stored.grant.access_token.expose_secret();
        let refused = McpSession::open(&peer.url, token)
            .err()
            .unwrap_or_else(|| panic!("{case}: the access token still works"));
        assert_eq!(refused.status, 401, "{case}");
    }
}

/// A caller about to sign in can learn first that the vault already has the
/// address (as the add would normalise it), and starts nothing.
#[test]
fn a_duplicate_is_known_before_signing_in() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut engine, vault) = engine(dir.path());
    let url = "https://mcp.example.com/mcp";
    engine
        .catalog()
        .refuse_duplicate(&vault, url)
        .expect("nothing there yet");
    engine
        .catalog()
        .add_credential(
            &vault,
            support::engine::credential(url, "tok_first_0123456789"),
        )
        .expect("added");
    for same in [
        url,
        "HTTPS://MCP.example.com/mcp",
        " https://mcp.example.com/mcp ",
    ] {
        let error = engine
            .catalog()
            .refuse_duplicate(&vault, same)
            .expect_err(same);
        assert_eq!(error.code(), ErrorCode::DuplicateUrl, "{same}");
        assert!(error.to_string().contains("already has a credential"));
    }
    engine
        .catalog()
        .refuse_duplicate(&vault, "https://other.example.com/mcp")
        .expect("another address");
    assert_eq!(
        engine
            .catalog()
            .refuse_duplicate("vault_gone", url)
            .expect_err("no vault")
            .code(),
        ErrorCode::NotFound
    );
}
