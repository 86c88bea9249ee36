//! OAuth sign-in in the desktop app's real window, against the test
//! authorization server (tests/oauth-peer, which approves at once): the
//! add-credential form's "Sign in (OAuth)" kind, the wait for the browser
//! (here the debug build's test opener, `KEYBEARER_TEST_OPENER=follow`,
//! which follows the authorization address as a browser would), the saved
//! credential shown as signed in, and a test of it that the server accepts.
//! No access or refresh token is in the page, an IPC answer or a data file.

mod common;

use common::oauth::{assert_no_peer_token, holds_peer_token, wait_outcome, OAuthPeer};
use common::{advanced, create_vault, open_vault, other_server, set_up};
use keybearer_e2e::{require_environment, Window};

#[test]
fn the_token_shape_check_finds_the_peers_tokens() {
    assert!(holds_peer_token(
        b"x at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG y"
    ));
    assert!(holds_peer_token(
        b"\"rt_-_0123456789abcdefghijklmnopqrstuvwxyzABCDE\""
    ));
    assert!(!holds_peer_token(b"format_version at_least rt_short"));
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_through_the_form_saves_a_credential_the_server_accepts() {
    require_environment();
    let peer = OAuthPeer::start();
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    create_vault(&window, "Signed in").await;
    open_vault(&window, "Signed in").await;

    // "Other server": Keybearer asks the server, which names its sign-in
    // service, so the form signs in: no secret to paste. Under Advanced, the
    // kind is OAuth, with an optional client ID and scopes.
    other_server(&window).await;
    window.fill("cred-url", &peer.url).await;
    window
        .wait_text("cred-oauth-instructions", |text| text.contains("browser"))
        .await;
    advanced(&window).await;
    window.click("cred-protocol-http").await;
    window.click("cred-kind-oauth").await;
    assert!(window.all("cred-token").await.is_empty());
    assert!(window.all("cred-test").await.is_empty());
    assert_eq!(window.value("cred-oauth-client-id").await, "");
    window.fill("cred-oauth-scope", "mcp").await;
    window.click("cred-sign-in").await;

    // The browser (the test opener) comes back; the credential is saved.
    let row = window.el("cred-row").await;
    let kind = window.wait_text("cred-type", |text| !text.is_empty()).await;
    assert_eq!(kind, "Signed in (OAuth)");
    assert!(window.all("cred-needs-sign-in").await.is_empty());
    assert!(
        row.text().await.unwrap_or_default().contains(&peer.url),
        "the row names the server"
    );
    window
        .wait_text("screen-main", |text| text.contains("Signed in to"))
        .await;
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 1, "{stats}");
    assert_eq!(stats["code_exchanges"], 1, "{stats}");

    // The saved credential works: the server takes its access token.
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;
    window
        .client
        .execute(
            "document.querySelector('[data-testid=\"cred-row\"]').scrollIntoView({block: 'start'}); window.scrollBy(0, -120)",
            vec![],
        )
        .await
        .expect("scroll");
    window.screenshot("20-sign-in").await;

    // No token is anywhere the window or the disk can show it.
    assert_no_peer_token(&window).await;
    window.quit().await;
}
