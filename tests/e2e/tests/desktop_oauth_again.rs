//! "Sign in again" in the desktop app's real window, against the test
//! authorization server (tests/oauth-peer, which approves at once; the debug
//! build's test opener, `KEYBEARER_TEST_OPENER=follow`, plays the browser).
//!
//! Flow: sign in through the add-credential form → a session (a shell whose
//! every typed line makes one MCP call with the official SDK's client
//! through the session's proxy) calls the server → the peer refuses refresh
//! and the access token expires → the next call makes the proxy's refresh
//! fail for good, and the credential is "Sign in again" in the session view
//! and in the vault's credentials table → with refresh allowed again, the
//! table's button signs in again: a second authorization, the credential
//! tests OK, the running session's next call works. Then the same once more
//! from the session view's own button. No access or refresh token is in the
//! page, an IPC answer or a data file.
//! Limits: each expiry is waited out in real time (the peer's access tokens
//! live a few seconds here), so the test takes about half a minute.
//!
//! Then, for an OAuth app the user made (GitHub-style: no metadata, no
//! registration, no refresh token; the peer's `--hide-metadata` and
//! `--refresh-only-with-offline-access`, reached through a registry entry
//! that pins its endpoints): the first sign-in takes the app's client ID and
//! secret in the form and says the sign-in cannot be renewed; once it
//! expired, "Sign in again" signs in as the same app without asking for
//! them again (the vault keeps them sealed) and says the same. The client
//! secret is in no page, IPC answer or data file.

mod common;

use std::time::Duration;

use common::oauth::{assert_no_peer_token, sign_in_through_form, wait_outcome, OAuthPeer};
use common::registry::{registry_server, RegistryPeer};
use common::{cli, create_vault, open_vault, set_up};
use keybearer_e2e::{css, files_containing, repo_root, require_environment, Window};
use serde_json::json;

const VAULT: &str = "Signed in";

/// Starts a session whose agent is a shell: each line typed into its
/// terminal makes one `whoami` call through the proxy, answered by
/// `call-N-ok` or `call-N-failed`.
async fn start_calling_agent(window: &Window) {
    window.click("nav-sessions").await;
    window.el("session-form").await;
    window.click("session-agent-custom").await;
    window.fill("session-program", "/bin/sh").await;
    let python = repo_root().join(".venv/bin/python");
    let script = format!(
        r#"-c "echo agent-ready; while read n; do if {} tests/mcp-peers/client.py --config \"$KEYBEARER_MCP_CONFIG\" --tool whoami >/dev/null 2>&1; then echo call-$n-ok; else echo call-$n-failed; fi; done""#,
        python.display()
    );
    window.fill("session-args", &script).await;
    window.click("session-vault").await;
    window
        .wait_text("session-coverage", |text| text.contains("127.0.0.1"))
        .await;
    window
        .fill("session-dir", &repo_root().display().to_string())
        .await;
    window.click("session-start").await;
    window
        .wait_text("session-terminal", |text| text.contains("agent-ready"))
        .await;
}

/// Types `n` into the agent's terminal; whether that call succeeded.
async fn call(window: &Window, n: u32) -> bool {
    window
        .client
        .find(fantoccini::Locator::Css(&format!(
            "{} .xterm-helper-textarea",
            css("session-terminal")
        )))
        .await
        .expect("terminal input")
        .send_keys(&format!("{n}\n"))
        .await
        .expect("type into the terminal");
    let (ok, failed) = (format!("call-{n}-ok"), format!("call-{n}-failed"));
    let output = window
        .wait_text("session-terminal", |text| {
            text.contains(&ok) || text.contains(&failed)
        })
        .await;
    output.contains(&ok)
}

/// Opens the (only) session's tab after the Sessions page was left.
async fn back_to_the_session(window: &Window) {
    window.click("nav-sessions").await;
    window.click("session-tab").await;
    window.el("session-terminal").await;
}

/// Waits until the session view's server row says whether its credential
/// needs a new sign-in.
async fn wait_session_server(window: &Window, needs_sign_in: bool) {
    let expected = needs_sign_in.to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let shown = window
            .wait_attr("session-server", "data-needs-sign-in")
            .await;
        if shown == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the session's server never showed needs-sign-in={expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let badges = window.all("session-server-needs-sign-in").await;
    assert_eq!(badges.is_empty(), !needs_sign_in);
    if let Some(badge) = badges.first() {
        assert_eq!(badge.text().await.unwrap_or_default(), "Sign in again");
    }
}

/// Refresh refused from now on, and every access token issued so far expired.
async fn refuse_refresh_until_expired(peer: &OAuthPeer, lifetime_secs: u64) {
    peer.config(json!({ "fail_refresh": true }));
    tokio::time::sleep(Duration::from_millis(lifetime_secs * 1000 + 700)).await;
}

/// Waits until no element `testid` is left (a replaced row's button).
async fn wait_gone(window: &Window, testid: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !window.all(testid).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{testid} is still there"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_shows_sign_in_again_and_signing_in_again_works() {
    require_environment();
    let peer = OAuthPeer::start_with(&["--access-token-lifetime", "4"]);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    create_vault(&window, VAULT).await;
    open_vault(&window, VAULT).await;
    sign_in_through_form(&window, &peer).await;
    assert!(window.all("cred-needs-sign-in").await.is_empty());

    // A session calls the server through its proxy: signed in, it works.
    start_calling_agent(&window).await;
    assert!(call(&window, 1).await, "the first call failed");
    wait_session_server(&window, false).await;

    // The service refuses to renew and the token expires: the next call
    // fails, and the session view says what to do.
    refuse_refresh_until_expired(&peer, 4).await;
    assert!(!call(&window, 2).await, "a call worked without a sign-in");
    wait_session_server(&window, true).await;
    assert!(peer.stats()["refresh_failures"].as_u64() >= Some(1));
    window.screenshot("21-session-sign-in-again").await;

    // The vault's table says so too.
    window.click("nav-vaults").await;
    open_vault(&window, VAULT).await;
    window.el("cred-needs-sign-in").await;
    window.el("cred-sign-in-again").await;
    window.screenshot("22-credential-sign-in-again").await;

    // Renewal works again; the table's "Sign in again" signs in anew.
    peer.config(json!({ "fail_refresh": false, "access_token_lifetime": 8 }));
    window.click("cred-sign-in-again").await;
    wait_gone(&window, "cred-sign-in-again").await;
    wait_gone(&window, "cred-needs-sign-in").await;
    window.el("cred-row-test").await;
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 2, "{stats}");
    assert_eq!(stats["code_exchanges"], 2, "{stats}");
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;

    // The running session uses the new sign-in at its next call.
    back_to_the_session(&window).await;
    wait_session_server(&window, false).await;
    assert!(call(&window, 3).await, "the call after signing in failed");

    // Once more, signing in again from the session view itself.
    refuse_refresh_until_expired(&peer, 8).await;
    assert!(!call(&window, 4).await, "a call worked without a sign-in");
    wait_session_server(&window, true).await;
    peer.config(json!({ "fail_refresh": false, "access_token_lifetime": 300 }));
    window.click("session-server-sign-in").await;
    wait_session_server(&window, false).await;
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 3, "{stats}");
    assert!(call(&window, 5).await, "the call after signing in failed");

    window.click("nav-vaults").await;
    open_vault(&window, VAULT).await;
    assert!(window.all("cred-needs-sign-in").await.is_empty());
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;

    back_to_the_session(&window).await;
    window.click("session-stop").await;
    window
        .wait_text("session-status", |text| text.contains("stopped"))
        .await;
    assert_no_peer_token(&window).await;
    window.quit().await;
}

/// Opens the vault again, so its credentials are read afresh.
async fn reopen_vault(window: &Window) {
    window.click("nav-vaults").await;
    open_vault(window, VAULT).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oauth_app_of_the_users_own_signs_in_again_without_asking_for_it_again() {
    require_environment();
    // GitHub-like: no metadata, no registration, no refresh token.
    let peer = OAuthPeer::start_with(&[
        "--hide-metadata",
        "--refresh-only-with-offline-access",
        "--access-token-lifetime",
        "4",
    ]);
    let (client_id, client_secret) = peer.users_app();
    let mut entry = registry_server("io.example/app-desk", "App Desk", &peer.url);
    entry["server"]["_meta"] = json!({
        "io.modelcontextprotocol.registry/publisher-provided": {
            "dev.keybearer/oauth-app": {
                "clientPage": "https://example.com/settings/apps/new",
                "clientSecret": true,
                "scopes": ["mcp"],
                "authorizeUrl": format!("{}/authorize", peer.base),
                "tokenUrl": format!("{}/token", peer.base)
            }
        }
    });
    let registry = RegistryPeer::start();
    registry.serve(vec![entry]);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    cli(data.path(), &["settings", "registry", &registry.base], "");
    cli(data.path(), &["catalog", "--refresh"], "");
    create_vault(&window, VAULT).await;
    open_vault(&window, VAULT).await;

    // The first sign-in: the app's client ID and secret, typed once.
    window.click("cred-pick-server").await;
    window.fill("picker-search", "app desk").await;
    window.click("picker-option").await;
    window.el("cred-oauth-client-instructions").await;
    window.fill("cred-oauth-client-id", &client_id).await;
    window
        .fill("cred-oauth-client-secret", &client_secret)
        .await;
    window.click("cred-sign-in").await;
    window.el("cred-row").await;
    let saved = window
        .wait_text("cred-saved", |text| text.contains("Signed in to App Desk"))
        .await;
    assert!(saved.contains("no way to renew"), "{saved}");
    assert!(
        !window.page_source().await.contains(&client_secret),
        "the client secret stayed in the page"
    );

    // It expires; with no refresh token only a new sign-in helps.
    tokio::time::sleep(Duration::from_millis(4_700)).await;
    window.click("cred-row-test").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    reopen_vault(&window).await;
    window.el("cred-needs-sign-in").await;
    window.click("cred-sign-in-again").await;
    wait_gone(&window, "cred-sign-in-again").await;
    let renewal = window
        .wait_text("cred-sign-in-again-renewal", |text| !text.is_empty())
        .await;
    assert!(
        renewal.starts_with("Signed in again.") && renewal.contains("no way to renew"),
        "{renewal}"
    );
    window.screenshot("23-sign-in-again-oauth-app").await;
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 2, "{stats}");
    assert_eq!(stats["code_exchanges"], 2, "{stats}");
    assert_eq!(
        stats["registrations"], 1,
        "only the user's own app: {stats}"
    );
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;

    // The app's secret: in the vault only, sealed.
    assert!(!window.page_source().await.contains(&client_secret));
    assert!(
        !window.ipc_answers().contains(&client_secret),
        "the client secret is in an IPC answer"
    );
    assert!(files_containing(data.path(), client_secret.as_bytes()).is_empty());
    assert_no_peer_token(&window).await;
    window.quit().await;
}
