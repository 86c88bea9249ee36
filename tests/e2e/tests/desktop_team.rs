//! Team vaults in the real window, against a real OpenBao (`bao server
//! -dev`, crates/team/tests/support/bao.rs) and the official Python SDK's
//! MCP server: Settings → Team servers adds the server and signs in; a new
//! vault is kept on it (the dialog says who can read it); its page says the
//! server's administrators can read its values; a credential added in the
//! same form as for a local vault reaches the team server, and shows in a
//! new session's coverage. The password and the token are in no page, IPC
//! answer or file of the data folder.

#[path = "../../../crates/team/tests/support/bao.rs"]
mod bao;
mod common;

use common::{open_vault, other_server_with_token, set_up, unique_token};
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};

#[tokio::test(flavor = "multi_thread")]
async fn a_team_vault_is_added_signed_in_to_filled_and_covered_in_the_window() {
    require_environment();
    // Two rustls providers are linked here (fantoccini's, keybearer-net's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut bao = bao::Bao::start();
    let password = bao.add_user("alice", "member-rw", "1h", "2h");
    let token = unique_token("team");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;

    // Settings → Team servers: add, then sign in.
    window.click("nav-settings").await;
    window.click("team-add-open").await;
    window.fill("team-address", &bao.address).await;
    window.fill("team-name", "acme").await;
    window.fill("team-mount", bao::MOUNT).await;
    window.click("team-add-submit").await;
    window
        .wait_text("team-server-state", |state| state == "Not signed in")
        .await;
    let card = window.text("team-servers").await;
    assert!(card.contains("administrators can read"), "{card}");
    window.click("team-sign-in-open").await;
    window.fill("team-user", "alice").await;
    window.fill("team-secret", password.expose()).await;
    window.screenshot("team-sign-in").await;
    window.click("team-sign-in-submit").await;
    window
        .wait_text("team-server-state", |state| {
            state == "Signed in as userpass-alice"
        })
        .await;
    window.screenshot("team-servers").await;

    // A new vault kept on the team server.
    window.click("nav-vaults").await;
    window.click("vault-create-open").await;
    window.fill("vault-name", "Shared tools").await;
    let kept_on = window.el("vault-kept-on").await;
    let server_id = kept_on
        .find(fantoccini::Locator::Css("option:not([value=''])"))
        .await
        .expect("the team server's option")
        .attr("value")
        .await
        .ok()
        .flatten()
        .expect("its id");
    window.select("vault-kept-on", &server_id).await;
    let warning = window.text("vault-team-warning").await;
    assert!(warning.contains("administrators"), "{warning}");
    window.click("vault-create-submit").await;
    let badge = window
        .wait_text("vault-team-badge", |text| text.contains("acme"))
        .await;
    assert_eq!(badge, "Team: acme");
    window.screenshot("team-vault-list").await;

    // Its page says who can read it; a credential added as for any vault.
    open_vault(&window, "Shared tools").await;
    let notice = window.text("vault-team-notice").await;
    assert!(notice.contains("administrators can read them"), "{notice}");
    other_server_with_token(&window, &server.url).await;
    window.fill("cred-token", &token).await;
    window.click("cred-save").await;
    let row = window.el("cred-row").await;
    let id = row
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    assert!(id.starts_with("tcr_"), "{id}");
    window.screenshot("team-vault-detail").await;
    // It is on the team server.
    let (status, listed) = bao.try_root(
        http::Method::GET,
        &format!(
            "{}/metadata/keybearer/development/shared-tools/?list=true",
            bao::MOUNT
        ),
        None,
    );
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["data"]["keys"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    // A new session's coverage names it, from the team vault.
    window.click("nav-sessions").await;
    window.click("session-new").await;
    window.click("session-vault").await;
    let coverage = window
        .wait_text("session-coverage", |text| text.contains("127.0.0.1"))
        .await;
    assert!(coverage.contains("Shared tools"), "{coverage}");
    window.screenshot("team-session-coverage").await;

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for secret in [token.as_str(), password.expose()] {
        assert!(!page.contains(secret), "a secret in the page");
        assert!(!answers.contains(secret), "a secret in an IPC answer");
        assert!(
            files_containing(data.path(), secret.as_bytes()).is_empty(),
            "a secret in the data folder"
        );
    }
    window.quit().await;
    bao.stop();
}
