//! Import in the real window when an editor's backup beside Claude Code's
//! settings holds the pasted token too: the result says the token is
//! stored and a copy remains (never "moved"), names the backup, and deletes
//! it after a confirmation that lists it; a backup without the token stays.

mod common;

use common::cards::click_in_card;
use common::{create_vault, set_up};
use keybearer_e2e::{files_containing, require_environment, Window};

const PASTED_TOKEN: &str = "lin_api_Backup5kQ2mN7pR4tV9wY3bE2f";

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_holding_the_token_is_named_and_deleted_on_confirmation() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let home = tempfile::tempdir().expect("home");
    let settings = home.path().join(".claude.json");
    let text = format!(
        r#"{{
  "mcpServers": {{
    "linear": {{"type": "http", "url": "https://mcp.linear.app/mcp", "headers": {{"Authorization": "Bearer {PASTED_TOKEN}"}}}}
  }}
}}
"#
    );
    std::fs::write(&settings, &text).expect("settings");
    let backup = home.path().join(".claude.json~");
    std::fs::write(&backup, &text).expect("backup");
    let clean = home.path().join(".claude.json.bak");
    std::fs::write(&clean, "{ \"mcpServers\": {} }\n").expect("backup without the token");

    let home_str = home.path().display().to_string();
    let window = Window::launch_with_env(data.path(), &[("HOME", &home_str)]).await;
    set_up(&window).await;
    create_vault(&window, "Imported").await;
    window.click("nav-apps").await;
    click_in_card(&window, "claude-code", "app-import-open").await;
    window.el("app-import-dialog").await;
    window
        .wait_text("app-import-found", |text| text.contains("linear"))
        .await;
    window.click("app-import-submit").await;
    window
        .wait_text("app-import-plan", |text| text.contains("Imported"))
        .await;
    window.click("app-import-submit").await;

    let result = window
        .wait_text("app-import-result", |text| text.contains("Stored"))
        .await;
    assert!(!result.contains("Moved"), "{result}");
    assert!(
        result.contains("Stored 1 token from Claude Code's settings in Imported; a copy remains in ~/.claude.json~."),
        "{result}"
    );
    let copy = window.text("app-import-copy").await;
    assert!(
        copy.contains("A copy of this token is still in ~/.claude.json~"),
        "{copy}"
    );
    assert!(!std::fs::read_to_string(&settings)
        .expect("settings")
        .contains(PASTED_TOKEN));
    assert!(backup.exists(), "nothing is deleted unasked");
    window.screenshot("17-apps-import-copies").await;

    // Delete: the confirmation lists the file; Cancel keeps it.
    window.click("app-import-delete-copies").await;
    let confirm = window.text("confirm-dialog").await;
    assert!(confirm.contains("~/.claude.json~"), "{confirm}");
    assert!(!confirm.contains(".claude.json.bak"), "{confirm}");
    window.click("confirm-delete-copies").await;
    let result = window
        .wait_text("app-import-result", |text| text.contains("Deleted"))
        .await;
    assert!(
        result.contains("Deleted ~/.claude.json~ (it held a copy of an imported token)."),
        "{result}"
    );
    assert!(
        result.contains("Moved 1 token from Claude Code's settings into Imported."),
        "{result}"
    );
    assert!(window.all("app-import-delete-copies").await.is_empty());
    assert!(!backup.exists(), "the backup holding the token is deleted");
    assert!(clean.exists(), "a backup without the token stays");

    assert!(!window.page_source().await.contains(PASTED_TOKEN));
    assert!(!window.ipc_answers().contains(PASTED_TOKEN));
    assert!(files_containing(data.path(), PASTED_TOKEN.as_bytes()).is_empty());
    assert!(files_containing(home.path(), PASTED_TOKEN.as_bytes()).is_empty());
    window.quit().await;
}
