//! A long vault list in the real window: 206 vaults (made with the CLI in
//! the same data folder, as a user with many projects would have) are shown
//! a page at a time, and the search finds vaults by part of a name or of a
//! server address, across every page, or says that nothing matched.

mod common;

use common::{cli, set_up, vault_names};
use keybearer_e2e::{require_environment, Window};

async fn search_for(window: &Window, text: &str, expected_status: &str) {
    window.fill("vault-search", text).await;
    window
        .wait_text("vault-search-status", |status| status == expected_status)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_vault_list_is_paged_and_searched_by_name_or_server() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;

    for index in 0..205 {
        let name = format!("Team {index:03}");
        cli(
            data.path(),
            &["vault", "create", &name, "--env", "development"],
            "",
        );
    }
    cli(
        data.path(),
        &[
            "vault",
            "create",
            "Docs",
            "--env",
            "development",
            "--credential-url",
            "https://mcp.notion.com/mcp",
        ],
        "tok-e2e-notion-0123456789\n",
    );
    // One vault in another environment, which the development list never shows.
    cli(
        data.path(),
        &["vault", "create", "Team 999", "--env", "production"],
        "",
    );

    // Back and forth between environments reloads the list.
    window.select("env-switcher", "production").await;
    window
        .wait_text("vault-search-status", |status| status == "1 vault")
        .await;
    window.select("env-switcher", "development").await;
    window
        .wait_text("vault-search-status", |status| status == "206 vaults")
        .await;
    assert_eq!(vault_names(&window).await.len(), 200, "the first page");
    window.screenshot("vault-list-long").await;
    window.click("vault-show-more").await;
    window
        .wait_text("screen-main", |text| text.contains("Team 204"))
        .await;
    assert_eq!(vault_names(&window).await.len(), 206, "every vault");

    // By a server address: the vault is found though its name does not say so.
    search_for(&window, "NOTION", "1 vault found").await;
    let names = vault_names(&window).await;
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].contains("Docs"), "{names:?}");
    window.screenshot("vault-list-search").await;

    // By part of a name, on a later page, in this environment only.
    search_for(&window, "team 20", "5 vaults found").await;
    let names = vault_names(&window).await;
    assert!(
        names.iter().all(|name| name.contains("Team 20")),
        "{names:?}"
    );

    search_for(&window, "no such thing", "0 vaults found").await;
    let empty = window.text("vault-search-empty").await;
    assert!(empty.contains("no such thing"), "{empty}");

    // Emptying the search (as a user does, with Backspace) shows the whole list again.
    search_for(&window, "x", "0 vaults found").await;
    window
        .el("vault-search")
        .await
        .send_keys("\u{E003}")
        .await
        .expect("Backspace");
    window
        .wait_text("vault-search-status", |status| status == "206 vaults")
        .await;
    window.quit().await;
}
