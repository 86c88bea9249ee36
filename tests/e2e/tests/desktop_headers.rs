//! Header credentials in the desktop app's real window: the kind chooser of
//! the add-credential form, a bad header name refused with a clear message,
//! Test connection against the Python SDK server in header mode (it demands
//! X-API-Key and no bearer token), Save, the list showing the header's name,
//! a test of the saved credential and a replacement of its value; the value
//! is in no DOM node, IPC answer or data file afterwards.

mod common;

use std::time::{Duration, Instant};

use common::{advanced, create_vault, open_vault, other_server, set_up, unique_token};
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};

/// Waits until the connection test shown in `testid` ends in `expected`.
async fn wait_outcome(window: &Window, testid: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outcome = window.wait_attr(testid, "data-outcome").await;
        if outcome == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{testid} never said {expected}: {outcome} ({})",
            window.text(testid).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether any input or text area of the page holds `needle` as its value
/// (values typed are properties, not in the page source).
async fn some_input_holds(window: &Window, needle: &str) -> bool {
    window
        .client
        .execute(
            "return Array.from(document.querySelectorAll('input, textarea')).some((e) => e.value.includes(arguments[0]))",
            vec![serde_json::Value::from(needle)],
        )
        .await
        .expect("inputs")
        .as_bool()
        .expect("a boolean")
}

#[tokio::test(flavor = "multi_thread")]
async fn header_credential_added_through_the_form_reaches_a_server_that_demands_it() {
    require_environment();
    let key = unique_token("xapikey");
    let server = McpServer::start_with_headers(&[("X-API-Key", &key)]);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;
    create_vault(&window, "Header tools").await;
    open_vault(&window, "Header tools").await;

    other_server(&window).await;
    window.fill("cred-url", &server.url).await;
    // Asked, the server offers no OAuth: a token. Choosing Header under
    // Advanced shows a row of name + value.
    window.el("cred-token").await;
    advanced(&window).await;
    window.click("cred-protocol-http").await;
    window.click("cred-kind-headers").await;
    assert!(window.all("cred-token").await.is_empty());
    assert_eq!(window.all("cred-header-row").await.len(), 1);
    assert_eq!(
        window
            .el("cred-header-value")
            .await
            .attr("type")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("password"),
        "a header's value is typed into a password field"
    );

    // A bad header name, and one Keybearer sets itself: clear messages, nothing sent.
    window.fill("cred-header-name", "X API Key").await;
    let error = window
        .wait_text("cred-header-name-error", |text| !text.is_empty())
        .await;
    assert_eq!(
        error,
        "\"X API Key\" is not a valid header name: use letters, digits and dashes, like X-API-Key."
    );
    window.fill("cred-header-value", &key).await;
    window.click("cred-save").await;
    window
        .wait_text("cred-header-name-error", |text| text.contains("X API Key"))
        .await;
    assert!(window.all("cred-row").await.is_empty(), "nothing was saved");
    window.fill("cred-header-name", "Host").await;
    let error = window
        .wait_text("cred-header-name-error", |text| text.contains("Host"))
        .await;
    assert!(
        error.contains("Keybearer sets the \"Host\" header itself"),
        "{error}"
    );

    // A second row can be added and removed again.
    window.click("cred-header-add").await;
    assert_eq!(window.all("cred-header-row").await.len(), 2);
    let removes = window.all("cred-header-remove").await;
    removes[1].click().await.expect("remove the second row");
    assert_eq!(window.all("cred-header-row").await.len(), 1);

    // The wrong value is refused by the server; the right one is accepted.
    window.fill("cred-header-name", "X-API-Key").await;
    window
        .fill("cred-header-value", &unique_token("wrongkey"))
        .await;
    window.click("cred-test").await;
    wait_outcome(&window, "cred-test-result", "unauthorized").await;
    window.fill("cred-header-value", &key).await;
    window.click("cred-test").await;
    wait_outcome(&window, "cred-test-result", "ok").await;
    window
        .client
        .execute(
            "document.querySelector('[data-testid=\"cred-url\"]').scrollIntoView({block: 'start'}); window.scrollBy(0, -120)",
            vec![],
        )
        .await
        .expect("scroll");
    window.screenshot("15-credential-headers").await;

    // Save: the list shows the header's name; the fields are empty again.
    window.click("cred-save").await;
    let row = window.el("cred-row").await;
    let kind = window.wait_text("cred-type", |text| !text.is_empty()).await;
    assert_eq!(kind, "Headers: X-API-Key");
    assert!(
        row.text().await.unwrap_or_default().contains("127.0.0.1"),
        "the row names the server"
    );
    assert!(
        !some_input_holds(&window, &key).await,
        "the value stays in a field after saving"
    );

    // The saved credential works.
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;

    // Replacing it asks for a new value of the same header.
    let old_id = row
        .attr("data-credential-id")
        .await
        .ok()
        .flatten()
        .expect("credential id");
    window.click("cred-replace-open").await;
    window.el("replace-dialog").await;
    assert_eq!(window.value("replace-header-name").await, "X-API-Key");
    assert_eq!(window.value("replace-header-value").await, "");
    window.fill("replace-header-value", &key).await;
    window.click("replace-test").await;
    wait_outcome(&window, "replace-test-result", "ok").await;
    window.click("replace-submit").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let id = window
            .el("cred-row")
            .await
            .attr("data-credential-id")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        if !id.is_empty() && id != old_id && window.all("replace-dialog").await.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the credential was never replaced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(window.text("cred-type").await, "Headers: X-API-Key");
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;

    // The value is nowhere the window or the disk can show it.
    let page = window.page_source().await;
    assert!(!page.contains(&key), "the header value is in the page");
    assert!(!some_input_holds(&window, &key).await);
    let answers = window.ipc_answers();
    assert!(
        answers.contains("X-API-Key"),
        "the trace recorded the answers"
    );
    assert!(
        !answers.contains(&key),
        "the header value is in an IPC answer"
    );
    let leaked = files_containing(data.path(), key.as_bytes());
    assert!(leaked.is_empty(), "the header value in {leaked:?}");
    window.quit().await;
}
