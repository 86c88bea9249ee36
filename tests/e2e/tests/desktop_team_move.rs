//! A vault moved to a team server and back in the real window, against a
//! real OpenBao (`bao server -dev`, crates/team/tests/support/bao.rs):
//! a local vault holding a credential is moved to the signed-in server
//! from its page (the confirmation says who will be able to read it, the
//! words of `keybearer_team_vaults::who_can_read`); a first attempt, the
//! server stopped after the confirmation showed, fails saying nothing was
//! lost, and the vault is still here with its credential; the server
//! back (dev mode: empty) and signed in again, the move goes through: the
//! list shows its
//! team badge and the credential is on the server (read there with the
//! root token); moved back ("Move to this computer…": the team copy will
//! be deleted, the member's policy allowing it), it is a vault of this
//! computer again and the server's copy is gone. The token and the
//! password are in no page, IPC answer or file of the data folder.

#[path = "../../../crates/team/tests/support/bao.rs"]
mod bao;
mod common;

use common::{create_vault, dark_mode, open_vault, other_server_with_token, set_up, unique_token};
use http::Method;
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};

const FOLDER: &str = "keybearer/development/deploy-tools";

/// The credentials in the team folder (the marker `_keybearer` left out).
fn team_secrets(bao: &bao::Bao) -> Vec<serde_json::Value> {
    let (status, listed) = bao.try_root(
        Method::GET,
        &format!("{}/metadata/{FOLDER}/?list=true", bao::MOUNT),
        None,
    );
    if status == 404 {
        return Vec::new();
    }
    assert_eq!(status, 200, "{listed}");
    let mut found = Vec::new();
    for key in listed["data"]["keys"].as_array().expect("keys") {
        let key = key.as_str().expect("a key");
        if key == "_keybearer" {
            continue;
        }
        let (status, read) = bao.try_root(
            Method::GET,
            &format!("{}/data/{FOLDER}/{key}", bao::MOUNT),
            None,
        );
        if status == 200 {
            found.push(read["data"]["data"].clone());
        }
    }
    found
}

/// Settings → Team servers: signs in as alice (the card is open).
async fn sign_in(window: &Window, password: &keybearer_base::secret::UserSecret) {
    window.click("team-sign-in-open").await;
    window.fill("team-user", "alice").await;
    window.fill("team-secret", password.expose()).await;
    window.click("team-sign-in-submit").await;
    window
        .wait_text("team-server-state", |state| {
            state == "Signed in as userpass-alice"
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_vault_moves_to_the_team_server_and_back_in_the_window() {
    require_environment();
    // Two rustls providers are linked here (fantoccini's, keybearer-net's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut bao = bao::Bao::start();
    let password = bao.add_user("alice", "member-rw", "1h", "2h");
    let token = unique_token("move");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;

    // Signed in to the team server.
    window.click("nav-settings").await;
    window.click("team-add-open").await;
    window.fill("team-address", &bao.address).await;
    window.fill("team-name", "acme").await;
    window.fill("team-mount", bao::MOUNT).await;
    window.click("team-add-submit").await;
    sign_in(&window, &password).await;

    // A vault of this computer with one credential.
    window.click("nav-vaults").await;
    create_vault(&window, "Deploy tools").await;
    open_vault(&window, "Deploy tools").await;
    other_server_with_token(&window, &server.url).await;
    window.fill("cred-token", &token).await;
    window.click("cred-save").await;
    window.el("cred-row").await;

    // The server stops once the confirmation showed: nothing is lost.
    window.click("vault-move-team").await;
    window.el("move-who-can-read").await;
    bao.stop();
    window.click("move-submit").await;
    let failed = window
        .wait_text("move-error", |text| !text.is_empty())
        .await;
    assert!(failed.contains("Nothing was lost"), "{failed}");
    assert!(failed.contains("still on this computer"), "{failed}");
    dark_mode(&window).await;
    window.screenshot("team-move-failed-dark").await;
    window.click("move-cancel").await;
    let id = window
        .el("cred-row")
        .await
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    assert!(
        id.starts_with("cred_"),
        "still a credential of this computer: {id}"
    );
    assert!(window.all("vault-team-notice").await.is_empty());

    // Back (dev mode: empty, the member added again), signed in again.
    bao.restart_set_up();
    let password_again = bao.add_user("alice", "member-rw", "1h", "2h");
    window.click("nav-settings").await;
    window
        .wait_text("team-server-state", |state| state == "Not signed in")
        .await;
    sign_in(&window, &password_again).await;
    window.click("nav-vaults").await;
    open_vault(&window, "Deploy tools").await;

    // Move to a team server: the confirmation says who can read it.
    window.click("vault-move-team").await;
    let who = window
        .wait_text("move-who-can-read", |text| !text.is_empty())
        .await;
    assert_eq!(
        who,
        format!(
            "This is a team vault: its credentials are kept on the team server acme ({}). Keybearer never shows their values, but the server's administrators, and anyone its policies let read this vault's folder, can read them.",
            bao.address
        )
    );
    let plan = window.text("move-plan").await;
    assert!(plan.contains("1 credential will be copied"), "{plan}");
    assert!(plan.contains("removed from this computer"), "{plan}");
    window.screenshot("team-move-to-team").await;
    window.click("move-submit").await;
    let moved = window
        .wait_text("vault-moved", |text| text.contains("Moved"))
        .await;
    assert!(moved.contains("acme"), "{moved}");
    window.el("vault-team-notice").await;
    let row = window.el("cred-row").await;
    let id = row
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    assert!(id.starts_with("tcr_"), "{id}");
    // On the server, with the value this computer held.
    let secrets = team_secrets(&bao);
    assert_eq!(secrets.len(), 1, "{secrets:?}");
    assert_eq!(secrets[0]["token"], token.as_str());
    // The list shows its team badge.
    window.click("vault-back").await;
    let badge = window
        .wait_text("vault-team-badge", |text| text.contains("acme"))
        .await;
    assert_eq!(badge, "Team: acme");

    // And back: the team copy will be deleted (the policy allows it).
    open_vault(&window, "Deploy tools").await;
    window.click("vault-move-local").await;
    let copy = window
        .wait_text("move-team-copy", |text| !text.is_empty())
        .await;
    assert!(
        copy.contains("The team copy will be deleted from the server"),
        "{copy}"
    );
    let plan = window.text("move-plan").await;
    assert!(plan.contains("sealed with this computer's key"), "{plan}");
    window.screenshot("team-move-to-local").await;
    window.click("move-submit").await;
    let moved = window
        .wait_text("vault-moved", |text| text.contains("Moved"))
        .await;
    assert!(moved.contains("live only on this computer"), "{moved}");
    let row = window.el("cred-row").await;
    let id = row
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    assert!(!id.starts_with("tcr_"), "{id}");
    assert!(team_secrets(&bao).is_empty(), "the team copy is deleted");
    window.click("vault-back").await;
    window.el("vault-row").await;
    assert!(
        window.all("vault-team-badge").await.is_empty(),
        "a vault of this computer again"
    );

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for secret in [token.as_str(), password.expose(), password_again.expose()] {
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
