//! The desktop app end to end, in its real window: first run, environments,
//! vaults, credentials tested against a real MCP server, rotation, deletion,
//! leak checks (DOM, IPC answers, data folder), recovery after a wiped
//! keychain, and invalid input. Each flow saves screenshots.

mod common;

use std::process::Command;

use common::{
    advanced, create_vault, leave_first_steps, open_vault, other_server, other_server_with_token,
    set_up, unique_token, vault_names,
};
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};

#[tokio::test(flavor = "multi_thread")]
async fn first_run_environments_credentials_and_no_token_leaks() {
    require_environment();
    let token = unique_token("right");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    let recovery_key = set_up(&window).await;

    // Environments: a production vault and a development vault, each listed only in its own.
    window.select("env-switcher", "production").await;
    let label = window
        .wait_text("env-label", |text| {
            text.to_uppercase().contains("PRODUCTION")
        })
        .await;
    assert!(label.to_uppercase().contains("PRODUCTION"));
    window.el("env-band").await;
    window.el("empty-vaults").await;
    create_vault(&window, "GitHub").await;
    window.screenshot("03-production-vaults").await;

    window.select("env-switcher", "development").await;
    window.el("empty-vaults").await;
    create_vault(&window, "Dev tools").await;
    let names = vault_names(&window).await;
    assert!(names.iter().any(|n| n.contains("Dev tools")));
    assert!(
        !names.iter().any(|n| n.contains("GitHub")),
        "production vault shown in development: {names:?}"
    );
    window.select("env-switcher", "production").await;
    window
        .wait_text("env-label", |text| {
            text.to_uppercase().contains("PRODUCTION")
        })
        .await;
    let names = vault_names(&window).await;
    assert!(
        names.iter().any(|n| n.contains("GitHub"))
            && !names.iter().any(|n| n.contains("Dev tools"))
    );

    // Add a credential, testing the connection first with a wrong and then the right token.
    open_vault(&window, "GitHub").await;
    window.el("empty-credentials").await;
    other_server(&window).await;
    window.fill("cred-url", "http://example.com/mcp").await;
    let url_error = window
        .wait_text("cred-url-error", |text| !text.is_empty())
        .await;
    assert!(url_error.contains("https"), "{url_error}");
    window.fill("cred-url", &server.url).await;
    advanced(&window).await;
    window.click("cred-protocol-http").await;

    // Keybearer asked the server how it signs in: no OAuth, so a token.
    let wrong = unique_token("wrong");
    window.fill("cred-token", &wrong).await;
    window.click("cred-test").await;
    let outcome = window.wait_attr("cred-test-result", "data-outcome").await;
    assert_eq!(
        outcome,
        "unauthorized",
        "{}",
        window.text("cred-test-result").await
    );

    window.fill("cred-token", &token).await;
    window.click("cred-test").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let outcome = window.wait_attr("cred-test-result", "data-outcome").await;
        if outcome == "ok" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "test connection never succeeded: {outcome}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let result = window.text("cred-test-result").await;
    assert!(result.contains("keybearer-test-server"), "{result}");
    window
        .client
        .execute(
            "document.querySelector('[data-testid=\"cred-test-result\"]').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .expect("scroll");
    window.screenshot("04-add-credential-tested").await;

    window.click("cred-save").await;
    let row = window.el("cred-row").await;
    let row_text = row.text().await.unwrap_or_default();
    assert!(row_text.contains("127.0.0.1"), "{row_text}");
    assert!(
        window.all("cred-token").await.is_empty(),
        "the token field is gone after save"
    );
    window.el("cred-pick-server").await;
    window.screenshot("05-vault-detail").await;

    // The saved credential works, and a rotated token reaches the server.
    let credential_id = row
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    window.click("cred-replace-open").await;
    let rotated = unique_token("rotated");
    server.rotate(&rotated);
    window.fill("replace-token", &rotated).await;
    window.click("replace-submit").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let new_id = loop {
        let id = window
            .el("cred-row")
            .await
            .attr("data-credential-id")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        if !id.is_empty() && id != credential_id {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replace never produced a new credential; IPC: {}",
            window.ipc_answers()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(new_id.starts_with("cred_"));

    // Leak checks: the page, every IPC answer, and every file in the data folder.
    let source = window.page_source().await;
    let ipc = window.ipc_answers();
    assert!(
        ipc.contains("Status") && ipc.contains(&new_id),
        "the IPC trace holds every answer, from the first to the last: {ipc}"
    );
    // The recovery key crossed IPC once, to be shown; it is never traced.
    assert!(
        !ipc.contains(&recovery_key),
        "the recovery key is in the IPC trace"
    );
    for secret in [&token, &wrong, &rotated] {
        assert!(!source.contains(secret.as_str()), "a token is in the DOM");
        assert!(
            !ipc.contains(secret.as_str()),
            "a token is in an IPC answer"
        );
        assert_eq!(
            files_containing(data.path(), secret.as_bytes()),
            Vec::<std::path::PathBuf>::new()
        );
    }

    // Delete it, after confirming.
    window.click("cred-delete-open").await;
    window.click("confirm-delete").await;
    window.el("empty-credentials").await;

    window.click("nav-activity").await;
    window.el("events-table").await;
    let mut kinds = Vec::new();
    for row in window.all("event-row").await {
        kinds.push(
            row.attr("data-kind")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    }
    for kind in [
        "vault.created",
        "credential.created",
        "credential.replaced",
        "credential.deleted",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from activity: {kinds:?}"
        );
    }
    window.screenshot("06-activity").await;
    window.click("nav-settings").await;
    window.screenshot("07-settings").await;
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wiped_keychain_is_recovered_with_the_recovery_key() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    let recovery_key = set_up(&window).await;
    create_vault(&window, "Survives").await;
    window.quit().await;

    let wiped = Command::new("secret-tool")
        .args(["clear", "service", "keybearer"])
        .status()
        .expect("secret-tool");
    assert!(wiped.success());

    let window = Window::launch(data.path()).await;
    window.wait_screen("recover").await;
    window.screenshot("08-recover").await;
    window
        .fill("recover-input", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH")
        .await;
    window.click("recover-submit").await;
    let error = window
        .wait_text("screen-recover", |text| text.contains("does not open"))
        .await;
    assert!(error.contains("does not open"));
    window
        .fill("recover-input", &recovery_key.to_lowercase())
        .await;
    window.click("recover-submit").await;
    window.wait_screen("main").await;
    window
        .wait_text("screen-main", |text| text.contains("Survives"))
        .await;
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_keychain_the_app_explains_and_offers_a_passphrase() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let no_bus = format!("unix:path={}/no-such-bus", data.path().display());
    let window =
        Window::launch_with_env(data.path(), &[("DBUS_SESSION_BUS_ADDRESS", &no_bus)]).await;
    window.wait_screen("first-run").await;
    window.click("setup-keychain").await;
    window.wait_screen("keychain-problem").await;
    let explanation = window.text("screen-keychain-problem").await;
    assert!(
        explanation.to_lowercase().contains("keychain"),
        "{explanation}"
    );
    window.screenshot("09-no-keychain").await;

    window.fill("passphrase", "short").await;
    window.fill("passphrase-confirm", "short").await;
    window.click("setup-passphrase").await;
    window
        .wait_text("screen-keychain-problem", |text| {
            text.contains("10 characters")
        })
        .await;
    window.fill("passphrase", "a long enough passphrase").await;
    window
        .fill("passphrase-confirm", "a long enough passphrase")
        .await;
    window.click("setup-passphrase").await;
    window.wait_screen("recovery-key").await;
    window.click("recovery-key-saved").await;
    window.click("recovery-key-continue").await;
    leave_first_steps(&window).await;

    // Invalid input is explained next to the field and nothing is saved.
    window.click("vault-create-open").await;
    window.click("vault-create-submit").await;
    let name_error = window
        .wait_text("vault-name-error", |text| !text.is_empty())
        .await;
    assert!(name_error.to_lowercase().contains("name"), "{name_error}");
    window.fill("vault-name", "Passphrase vault").await;
    window.click("vault-create-submit").await;
    window
        .wait_text("screen-main", |text| text.contains("Passphrase vault"))
        .await;
    open_vault(&window, "Passphrase vault").await;
    other_server_with_token(&window, "https://mcp.example.com/mcp").await;
    let spaced = format!("{} tail", unique_token("spaced"));
    window.fill("cred-token", &spaced).await;
    window.click("cred-save").await;
    let token_error = window
        .wait_text("cred-token-error", |text| !text.is_empty())
        .await;
    assert!(token_error.contains("spaces"), "{token_error}");
    assert!(!token_error.contains(&spaced));
    window.el("empty-credentials").await;
    window.screenshot("10-invalid-token").await;
    assert!(files_containing(data.path(), spaced.as_bytes()).is_empty());
    window.quit().await;
}
