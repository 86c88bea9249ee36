//! Backups in the real window (docs/architecture.md, "Backups"): Settings →
//! Back up with a wrong and then the right recovery key, an existing file
//! replaced only once ticked; then a second data folder's first-run screen
//! restores that file (a wrong key first), shows the new computer's own
//! recovery key, and opens on the restored vault. No token and no recovery
//! key typed is left in the page or in any IPC answer; the file holds no
//! token.

mod common;

use common::{cli, set_up, unique_token, vault_names};
use keybearer_e2e::{contains, files_containing, require_environment, Window};

const WRONG_KEY: &str = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH";

#[tokio::test(flavor = "multi_thread")]
async fn back_up_in_settings_and_restore_on_the_first_run_screen() {
    require_environment();
    let token = unique_token("backed-up");
    let old = tempfile::tempdir().expect("data dir");
    let window = Window::launch(old.path()).await;
    let recovery_key = set_up(&window).await;
    cli(old.path(), &["vault", "create", "Moved"], "");
    cli(
        old.path(),
        &[
            "credential",
            "add",
            "--vault",
            "Moved",
            "--url",
            "https://moved.example.com/mcp",
        ],
        &format!("{token}\n"),
    );

    // Settings → Back up: where, and the recovery key.
    window.click("nav-settings").await;
    window.click("settings-backup").await;
    window.el("backup-dialog").await;
    let suggested = window.value("backup-path").await;
    assert!(suggested.ends_with(".kbbackup"), "{suggested:?}");
    let files = tempfile::tempdir().expect("backup folder");
    let file = files.path().join("moved.kbbackup");
    let path = file.to_string_lossy().into_owned();
    window.fill("backup-path", &path).await;
    window.fill("backup-recovery-key", WRONG_KEY).await;
    window.click("backup-submit").await;
    let refused = window
        .wait_text("backup-key-error", |text| !text.is_empty())
        .await;
    assert!(
        refused.contains("not the current recovery key"),
        "{refused}"
    );
    assert_eq!(window.value("backup-recovery-key").await, "", "emptied");
    assert!(!file.exists());
    window.fill("backup-recovery-key", &recovery_key).await;
    window.screenshot("backup-01-dialog").await;
    window.click("backup-submit").await;
    let done = window
        .wait_text("backup-done", |text| !text.is_empty())
        .await;
    assert!(done.contains("1 vault"), "{done}");
    assert!(done.contains(&path), "{done}");
    window.screenshot("backup-02-done").await;
    let bytes = std::fs::read(&file).expect("the backup");
    assert!(!contains(&bytes, token.as_bytes()), "no token in the file");
    window.click("backup-close").await;

    // The same name again: replaced only once ticked.
    window.click("settings-backup").await;
    window.fill("backup-path", &path).await;
    window.fill("backup-recovery-key", &recovery_key).await;
    window.click("backup-submit").await;
    window.el("backup-replace").await;
    assert_eq!(
        std::fs::read(&file).expect("kept"),
        bytes,
        "not replaced yet"
    );
    window.click("backup-replace").await;
    window.fill("backup-recovery-key", &recovery_key).await;
    window.click("backup-submit").await;
    window
        .wait_text("backup-done", |text| !text.is_empty())
        .await;
    assert_ne!(std::fs::read(&file).expect("replaced"), bytes);
    window.click("backup-close").await;

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for (secret, what) in [
        (token.as_str(), "token"),
        (recovery_key.as_str(), "recovery key"),
    ] {
        assert!(!page.contains(secret), "the {what} in the page");
        assert!(!answers.contains(secret), "the {what} in an IPC answer");
    }
    window.quit().await;

    // Another data folder: the first-run screen restores the file.
    let new = tempfile::tempdir().expect("data dir");
    let window = Window::launch(new.path()).await;
    window.wait_screen("first-run").await;
    window.click("setup-restore").await;
    window.wait_screen("restore").await;
    window.fill("restore-path", &path).await;
    window.click("restore-read").await;
    window.fill("restore-secret", WRONG_KEY).await;
    window.click("restore-open").await;
    let refused = window
        .wait_text("restore-key-error", |text| !text.is_empty())
        .await;
    assert!(refused.contains("does not open this backup"), "{refused}");
    assert_eq!(window.value("restore-secret").await, "", "emptied");
    window.fill("restore-secret", &recovery_key).await;
    window.click("restore-open").await;
    let listed = window
        .wait_text("restore-vaults", |text| text.contains("Moved"))
        .await;
    assert!(listed.contains("1 credential"), "{listed}");
    window.screenshot("backup-03-restore-contents").await;
    window.click("restore-confirm").await;
    window.el("recovery-key-value").await;
    let new_key = window.text("recovery-key-value").await.trim().to_string();
    assert_ne!(new_key, recovery_key, "this computer has its own key");
    window.click("recovery-key-saved").await;
    window.click("recovery-key-continue").await;
    let done = window
        .wait_text("restore-done", |text| !text.is_empty())
        .await;
    assert!(done.contains("1 vault"), "{done}");
    window.screenshot("backup-04-restored").await;
    window.click("restore-continue").await;
    window.wait_screen("main").await;
    let names = vault_names(&window).await;
    assert!(names.iter().any(|name| name.contains("Moved")), "{names:?}");
    cli(new.path(), &["credential", "check"], "");

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for (secret, what) in [
        (token.as_str(), "token"),
        (recovery_key.as_str(), "old recovery key"),
    ] {
        assert!(!page.contains(secret), "the {what} in the page");
        assert!(!answers.contains(secret), "the {what} in an IPC answer");
        assert!(
            files_containing(new.path(), secret.as_bytes()).is_empty(),
            "the {what} in the data folder"
        );
    }
    window.quit().await;
}
