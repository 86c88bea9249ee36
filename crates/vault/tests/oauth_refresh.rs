//! OAuth credentials kept fresh by the vault, against the real test
//! authorization server (official Python SDK, `tests/oauth-peer/server.py`,
//! access tokens living 2 s): a session's proxy keeps working across several
//! expiries; twenty lookups at expiry make exactly one refresh; a rotated
//! refresh token is stored before use (a second process refreshes with it);
//! a token the server refuses before its expiry is renewed and the request
//! sent again; a step-up request (403) is kept for the next sign-in; a
//! refused refresh marks the credential "sign in again" and the agent gets
//! a clear error instead of a loop; the agent never sees an upstream
//! sign-in invitation. Real keychain, real SQLite files.

mod support;

use support::oauth_peer;

use std::time::Duration;

use keybearer_vault::oauth::{sign_in, SignInOptions};
use keybearer_vault::{CredentialSecret, Engine, ErrorCode, NewCredential, SetupProtection};
use oauth_peer::{sha256_hex, Browser, OAuthPeer};
use serde_json::json;
use support::mcp_client::McpClient;
use support::start_proxy;

const LIFETIME: &str = "2";
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// A set-up engine with one vault holding an OAuth credential for `peer`.
fn signed_in_vault(dir: &std::path::Path, peer: &OAuthPeer) -> (Engine, String) {
    let (engine, vault, _) = signed_in_vault_and_grant(dir, peer);
    (engine, vault)
}

/// The same, with a copy of what was stored (to revoke it behind the vault's back).
fn signed_in_vault_and_grant(
    dir: &std::path::Path,
    peer: &OAuthPeer,
) -> (Engine, String, keybearer_vault::oauth::StoredOAuth) {
    support::require_secret_service();
    let mut engine = Engine::open(dir).expect("open");
    engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    let browser = Browser::new();
    let stored = sign_in(&peer.url, &SignInOptions::default(), &|url| {
        browser.open(url)
    })
    .unwrap_or_else(|error| panic!("sign-in: {error}"));
    let vault = engine
        .catalog()
        .create_vault(
            "Signed in",
            "development",
            vec![NewCredential {
                mcp_server_url: peer.url.clone(),
                protocol: None,
                secret: CredentialSecret::OAuth(Box::new(stored.clone())),
            }],
        )
        .expect("vault");
    (engine, vault.id, stored)
}

fn access_token(engine: &mut Engine, vault: &str, url: &str) -> Result<String, ErrorCode> {
    engine
        .tokens()
        .expect("tokens")
        .lookup(&[vault.to_string()], url)
        .map(|found| {
            found
                .expect("a credential")
                .token
                .expose_for_injection()
                .to_string()
        })
        .map_err(|error| error.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_keeps_working_across_expiries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", LIFETIME]);
    let (mut engine, vault) = tokio::task::block_in_place(|| signed_in_vault(dir.path(), &peer));
    let proxy = start_proxy(
        &mut engine,
        "sesn_oauth",
        vec![vault],
        vec![peer.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let whoami = client.call_tool("whoami", json!({})).await.expect("whoami");
        seen.insert(whoami);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert!(seen.len() >= 2, "the access token was renewed: {seen:?}");
    let refreshes = tokio::task::block_in_place(|| peer.stat("refreshes"));
    assert!(refreshes >= 1);
    proxy.stop().await;
}

/// A server that stops taking an access token before its expiry (restarted,
/// keys rotated): the proxy renews the grant on the 401 and sends the same
/// request again, so the agent's call succeeds; one refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_before_its_expiry_is_renewed_and_the_request_sent_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", "3600"]);
    let (mut engine, vault) = tokio::task::block_in_place(|| signed_in_vault(dir.path(), &peer));
    let proxy = start_proxy(
        &mut engine,
        "sesn_retry",
        vec![vault],
        vec![peer.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    let before = client.call_tool("whoami", json!({})).await.expect("whoami");
    tokio::task::block_in_place(|| peer.drop_access_tokens());
    let after = client
        .call_tool("whoami", json!({}))
        .await
        .expect("the refused request was sent again with a renewed token");
    assert_ne!(before, after, "a new access token");
    let again = client.call_tool("echo", json!({"text": "hi"})).await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(
        tokio::task::block_in_place(|| peer.stat("refreshes")),
        1,
        "one refresh"
    );
    proxy.stop().await;
}

#[test]
fn twenty_lookups_at_expiry_make_one_refresh() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", LIFETIME]);
    let (mut engine, vault) = signed_in_vault(dir.path(), &peer);
    let tokens = engine.tokens().expect("tokens");
    let first = tokens
        .lookup(std::slice::from_ref(&vault), &peer.url)
        .expect("lookup")
        .expect("found")
        .token
        .expose_for_injection()
        .to_string();
    std::thread::sleep(Duration::from_millis(2100));
    let before = peer.stat("refreshes");
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (tokens, vault, url) = (tokens.clone(), vault.clone(), peer.url.clone());
                scope.spawn(move || {
                    tokens
                        .lookup(&[vault], &url)
                        .expect("lookup")
                        .expect("found")
                        .token
                        .expose_for_injection()
                        .to_string()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(peer.stat("refreshes") - before, 1, "{}", peer.stats());
    assert!(answers.iter().all(|a| a == &answers[0] && a != &first));
    let session = oauth_peer::McpSession::open(&peer.url, &answers[0]).expect("new token works");
    assert_eq!(session.tool_text("whoami"), sha256_hex(&answers[0]));
}

#[test]
fn a_rotated_refresh_token_is_stored_before_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", LIFETIME]);
    let (mut engine, vault) = signed_in_vault(dir.path(), &peer);
    // One process refreshes (the server rotates the refresh token and
    // forgets the old one) and is gone.
    std::thread::sleep(Duration::from_millis(2100));
    let first = access_token(&mut engine, &vault, &peer.url).expect("refreshed");
    drop(engine);
    // Another process, later: it can refresh only with the rotated token.
    std::thread::sleep(Duration::from_millis(2100));
    let mut other = Engine::open(dir.path()).expect("second process");
    other.keys().unlock().expect("unlock");
    let second = access_token(&mut other, &vault, &peer.url).expect("refreshed again");
    assert_ne!(first, second);
    assert_eq!(peer.stat("refreshes"), 2, "{}", peer.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_means_sign_in_again_not_a_loop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", LIFETIME]);
    let (mut engine, vault) = tokio::task::block_in_place(|| {
        let signed_in = signed_in_vault(dir.path(), &peer);
        peer.config(json!({ "fail_refresh": true }));
        signed_in
    });
    let proxy = start_proxy(
        &mut engine,
        "sesn_refused",
        vec![vault.clone()],
        vec![peer.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let answer = http
            .post(&local)
            .bearer_auth(proxy.secret().expose_for_agent_config())
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(INITIALIZE)
            .send()
            .await
            .expect("answer");
        assert!(answer
            .headers()
            .get("www-authenticate")
            .is_none_or(|v| { !v.to_str().unwrap_or_default().contains("resource_metadata") }));
        let text = answer.text().await.expect("text");
        assert!(text.contains("Sign in again"), "{text}");
    }
    assert_eq!(
        tokio::task::block_in_place(|| peer.stat("refresh_failures")),
        1,
        "one try, then no loop"
    );
    let credential = &engine.catalog().credentials(&vault).expect("list")[0];
    assert!(credential.needs_sign_in);
    let kinds: Vec<String> = engine
        .audit()
        .events(None, 20)
        .expect("events")
        .iter()
        .map(|e| e.kind.to_string())
        .collect();
    assert!(
        kinds.contains(&"credential.sign_in_needed".to_string()),
        "{kinds:?}"
    );
    proxy.stop().await;
}

/// An upstream 401 reaches the agent without the server's sign-in
/// invitation (`resource_metadata`): the agent must not start an OAuth flow
/// of its own through the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_never_sees_a_sign_in_invitation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&[]);
    let (mut engine, vault, stored) =
        tokio::task::block_in_place(|| signed_in_vault_and_grant(dir.path(), &peer));
    // Withdrawn behind the vault's back: the server's 401 carries
    // resource_metadata, and the refresh that follows is refused.
    tokio::task::spawn_blocking(move || stored.revoke())
        .await
        .expect("join")
        .expect("revoked");
    let proxy = start_proxy(
        &mut engine,
        "sesn_invite",
        vec![vault],
        vec![peer.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let answer = reqwest::Client::new()
        .post(&local)
        .bearer_auth(proxy.secret().expose_for_agent_config())
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(INITIALIZE)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status().as_u16(), 401);
    assert!(answer.headers().get("www-authenticate").is_none());
    proxy.stop().await;
}

/// A server that answers a tool call with 403 `insufficient_scope` (scope
/// step-up): the agent gets the 403 without the challenge, the scopes are
/// kept on the credential (once, however often it is asked), and a sign-in
/// asking for them makes the tool work through the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_up_request_is_kept_for_the_next_sign_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = OAuthPeer::start(&["--access-token-lifetime", "3600"]);
    let (mut engine, vault) = tokio::task::block_in_place(|| signed_in_vault(dir.path(), &peer));
    let proxy = start_proxy(
        &mut engine,
        "sesn_scope",
        vec![vault.clone()],
        vec![peer.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    for _ in 0..3 {
        let refused = client.call_tool("admin", json!({})).await;
        assert!(refused.is_err(), "{refused:?}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let credential = loop {
        let credential = engine.catalog().credentials(&vault).expect("list")[0].clone();
        if credential.wanted_scope.is_some() || std::time::Instant::now() > deadline {
            break credential;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(credential.wanted_scope.as_deref(), Some("mcp admin"));
    let asked = engine
        .audit()
        .events(None, 50)
        .expect("events")
        .iter()
        .filter(|event| event.kind == "credential.scope_needed")
        .count();
    assert_eq!(asked, 1, "kept once");

    let options = SignInOptions {
        scope: credential.wanted_scope.clone(),
        ..SignInOptions::default()
    };
    let url = peer.url.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let browser = Browser::new();
        sign_in(&url, &options, &|address| browser.open(address))
    })
    .await
    .expect("join")
    .expect("signed in with more access");
    let replaced = engine
        .catalog()
        .replace_secret(&credential.id, CredentialSecret::OAuth(Box::new(stored)))
        .expect("replaced");
    assert_eq!(replaced.wanted_scope, None);
    // The server's MCP session belonged to the old sign-in: the agent starts another.
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    let admin = client.call_tool("admin", json!({})).await.expect("admin");
    assert!(admin.contains("admin ok"), "{admin}");
    proxy.stop().await;
}

/// A sign-in is bound to the server it was made for: stored for another
/// address (a credential replaced with, or added with, a grant from another
/// server), its access token would go to that server. Refused, nothing
/// changed, and the unsaved grant revoked.
#[test]
fn a_sign_in_cannot_be_stored_for_another_server() {
    let peer = OAuthPeer::start(&["--access-token-lifetime", "3600"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault, stored) = signed_in_vault_and_grant(dir.path(), &peer);
    let other = "https://other.example.com/mcp";
    let refused = engine
        .catalog()
        .add_credential(
            &vault,
            NewCredential {
                mcp_server_url: other.into(),
                protocol: None,
                secret: CredentialSecret::OAuth(Box::new(stored.clone())),
            },
        )
        .expect_err("another server's sign-in");
    assert_eq!(refused.code(), ErrorCode::InvalidInput);
    assert!(refused.to_string().contains("was made for"), "{refused}");
    let listed = engine.catalog().credentials(&vault).expect("list");
    assert_eq!(listed.len(), 1, "nothing added");
    // The same through a replacement of a token credential for `other`.
    let token_credential = engine
        .catalog()
        .add_credential(
            &vault,
            NewCredential {
                mcp_server_url: other.into(),
                protocol: None,
                secret: CredentialSecret::Bearer(
                    keybearer_vault::AccessToken::new("tok-for-the-other-server".into())
                        .expect("token"),
                ),
            },
        )
        .expect("token credential");
    let refused = engine
        .catalog()
        .replace_secret(
            &token_credential.id,
            CredentialSecret::OAuth(Box::new(stored)),
        )
        .expect_err("another server's sign-in");
    assert_eq!(refused.code(), ErrorCode::InvalidInput);
    let still = engine
        .catalog()
        .credential(&token_credential.id)
        .expect("kept");
    assert_eq!(still.mcp_server_url, other);
}
