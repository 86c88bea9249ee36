//! "Add a server" in the desktop app's real window. From an empty vault
//! list, "Add your first server" opens the server picker; the keyboard alone
//! searches it (typing filters, the arrows move, Enter picks, Esc closes).
//! The known servers come from a local MCP Registry (tests/registry-peer,
//! set with `keybearer settings registry` and read with `keybearer catalog
//! --refresh`): "Team Notes" is the OAuth test peer (tests/oauth-peer), so
//! its one button, "Sign in with Team Notes", completes in the test browser
//! (the debug build's test opener); "Ticket Desk" is the official Python SDK
//! server, which offers no OAuth, so Keybearer asks it and the form takes a
//! pasted token, tested and saved. The credential list names both by their
//! catalog names. GitHub (built in) needs an OAuth app of the user's own:
//! the steps, its callback address with Copy, and its personal token way.
//! The clicks and typed fields from the empty list to a working OAuth
//! credential are counted and printed. Screenshots of the picker, light and
//! dark. No token in the page, an IPC answer or a data file.
//! "Other server" asks the server: an SSE-only server at an address that
//! does not say so (/events) gets SSE and a token; the OAuth test peer gets
//! its one button; the protocol under Advanced follows the answers.
#![allow(clippy::print_stderr)] // the counts are printed for the README

mod common;

use common::oauth::{assert_no_peer_token, wait_outcome, OAuthPeer};
use common::registry::{registry_server, RegistryPeer};
use common::{cli, create_vault, dark_mode, open_vault, other_server, set_up, unique_token};
use fantoccini::key::Key;
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};

/// Sends one key to the element (the search field keeps the focus).
async fn press(window: &Window, testid: &str, key: Key) {
    window
        .el(testid)
        .await
        .send_keys(&key.to_string())
        .await
        .unwrap_or_else(|e| panic!("press a key in {testid}: {e}"));
}

/// Types `text` into the element that has the focus, as a person would.
async fn type_here(window: &Window, text: &str) {
    window
        .client
        .active_element()
        .await
        .expect("an element has the focus")
        .send_keys(text)
        .await
        .expect("type");
}

async fn run(window: &Window, script: &str) -> serde_json::Value {
    window
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// The `data-testid` of the element with the focus.
async fn focused(window: &Window) -> String {
    run(
        window,
        "return document.activeElement?.dataset.testid ?? ''",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

/// The picker's options in order (a server's id, or "other"), and the
/// highlighted one.
async fn options(window: &Window) -> (Vec<String>, String) {
    let answer = run(
        window,
        "const all = [...document.querySelectorAll('[data-testid=\"picker-list\"] [role=\"option\"]')];
         const id = (o) => o.dataset.serverId ?? 'other';
         return [all.map(id), id(all.find((o) => o.getAttribute('aria-selected') === 'true'))];",
    )
    .await;
    let ids = answer[0]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| id.as_str().unwrap_or_default().to_string())
        .collect();
    (ids, answer[1].as_str().unwrap_or_default().to_string())
}

/// Waits until the picker's list starts with `first` (the search is applied).
async fn wait_first_option(window: &Window, first: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (ids, _) = options(window).await;
        if ids.first().map(String::as_str) == Some(first) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "first option never {first}: {ids:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn wait_gone(window: &Window, testid: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !window.all(testid).await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{testid} stayed on screen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn picking_servers_from_the_catalog_signs_in_or_takes_a_token_and_names_them() {
    require_environment();
    let oauth = OAuthPeer::start();
    let token = unique_token("picker");
    let plain = McpServer::start("streamable_http", &token);
    let registry = RegistryPeer::start();
    registry.serve(vec![
        registry_server("io.example/team-notes", "Team Notes", &oauth.url),
        registry_server("io.example/ticket-desk", "Ticket Desk", &plain.url),
    ]);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    cli(data.path(), &["settings", "registry", &registry.base], "");
    cli(data.path(), &["catalog", "--refresh"], "");

    // From the empty vault list to a working OAuth credential, counted.
    let (mut clicks, mut typed, mut keys) = (0, 0, 0);
    window.el("empty-vaults").await;
    window.click("vault-first-server").await;
    clicks += 1;
    window
        .wait_text("picker-status", |text| text.contains("known servers"))
        .await;
    assert_eq!(
        focused(&window).await,
        "picker-search",
        "typing goes to the search"
    );
    let note = window.text("picker-note").await;
    assert!(note.contains("My servers"), "{note}");
    window.screenshot("30-server-picker").await;

    type_here(&window, "team").await;
    typed += 1;
    wait_first_option(&window, "io.example/team-notes").await;
    press(&window, "picker-search", Key::Enter).await;
    keys += 1;

    // The vault is made and opened, the server chosen: its address from the
    // registry, and Keybearer asked it how it signs in (OAuth).
    window
        .wait_text("vault-title", |text| text == "My servers")
        .await;
    assert_eq!(window.text("cred-chosen-name").await, "Team Notes");
    assert_eq!(window.text("cred-chosen-url").await, oauth.url);
    let sign_in = window
        .wait_text("cred-sign-in", |text| text.contains("Sign in with"))
        .await;
    assert_eq!(sign_in, "Sign in with Team Notes");
    assert!(
        window.all("cred-url").await.is_empty(),
        "no address to type"
    );
    assert!(
        window.all("cred-token").await.is_empty(),
        "no token to paste"
    );
    assert!(
        window.all("cred-advanced").await.is_empty(),
        "no protocol to choose"
    );
    assert_eq!(
        focused(&window).await,
        "cred-sign-in",
        "Enter would sign in next"
    );
    window.screenshot("31-picked-oauth").await;
    window.click("cred-sign-in").await;
    clicks += 1;

    let row = window.el("cred-row").await;
    window
        .wait_text("cred-type", |text| text == "Signed in (OAuth)")
        .await;
    assert_eq!(
        window.text("cred-host").await,
        "Team Notes",
        "named by the catalog"
    );
    assert!(
        row.text().await.unwrap_or_default().contains(&oauth.url),
        "the row still shows the address"
    );
    window
        .wait_text("cred-saved", |text| {
            text.contains("Signed in to Team Notes")
        })
        .await;
    assert_eq!(oauth.stats()["code_exchanges"], 1);
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;
    eprintln!(
        "From an empty vault list to a working OAuth credential: {clicks} clicks, {typed} typed field (the search), {keys} key (Enter); the browser's sign-in page aside."
    );
    assert_eq!((clicks, typed, keys), (2, 1, 1));

    // The picker by keyboard: nothing found, Esc; then arrows and Enter.
    window.click("cred-pick-server").await;
    window.el("picker-search").await;
    type_here(&window, "zzzz nothing").await;
    window
        .wait_text("picker-status", |text| {
            text.contains("No known server matches")
        })
        .await;
    assert_eq!(
        options(&window).await,
        (vec!["other".to_string()], "other".to_string())
    );
    press(&window, "picker-search", Key::Escape).await;
    wait_gone(&window, "server-picker").await;
    window.click("cred-pick-server").await;
    window.el("picker-search").await;
    type_here(&window, "io.example").await;
    wait_first_option(&window, "io.example/team-notes").await;
    let (ids, active) = options(&window).await;
    assert_eq!(
        (ids, active.as_str()),
        (
            vec![
                "io.example/team-notes".to_string(),
                "io.example/ticket-desk".to_string(),
                "other".to_string()
            ],
            "io.example/team-notes"
        )
    );
    for (key, expected) in [
        (Key::Down, "io.example/ticket-desk"),
        (Key::Down, "other"),
        (Key::Down, "other"),
        (Key::Up, "io.example/ticket-desk"),
    ] {
        press(&window, "picker-search", key).await;
        assert_eq!(options(&window).await.1, expected);
    }
    press(&window, "picker-search", Key::Enter).await;

    // No OAuth there: Keybearer asked, so a token, tested and saved.
    assert_eq!(window.text("cred-chosen-name").await, "Ticket Desk");
    let said = window
        .wait_text("cred-token-instructions", |text| !text.is_empty())
        .await;
    assert!(said.contains("paste the token"), "{said}");
    assert!(window.all("cred-sign-in").await.is_empty());
    window.fill("cred-token", &unique_token("wrong")).await;
    window.click("cred-test").await;
    wait_outcome(&window, "cred-test-result", "unauthorized").await;
    window.fill("cred-token", &token).await;
    window.click("cred-test").await;
    wait_outcome(&window, "cred-test-result", "ok").await;
    window.click("cred-save").await;
    window
        .wait_text("cred-saved", |text| text.contains("Ticket Desk"))
        .await;
    assert!(
        window.all("cred-token").await.is_empty(),
        "the token field is gone"
    );
    let mut hosts = Vec::new();
    for host in window.all("cred-host").await {
        hosts.push(host.text().await.unwrap_or_default());
    }
    assert_eq!(hosts, ["Team Notes", "Ticket Desk"]);
    window.screenshot("33-named-servers").await;

    // A built-in server without dynamic registration: the steps to make an
    // OAuth app, the callback address with Copy, a client ID asked for; or
    // its personal token, where it is made and with which permissions.
    window.click("cred-pick-server").await;
    window.el("picker-search").await;
    type_here(&window, "github").await;
    wait_first_option(&window, "github").await;
    press(&window, "picker-search", Key::Enter).await;
    let steps = window.text("cred-oauth-client-instructions").await;
    assert!(
        steps.contains("github.com/settings/applications/new"),
        "{steps}"
    );
    assert_eq!(
        window.text("cred-callback").await,
        "http://127.0.0.1/callback"
    );
    window.click("cred-callback-copy").await;
    window
        .wait_text("cred-callback-copy", |text| text == "Copied")
        .await;
    window.el("cred-oauth-client-secret").await;
    window.screenshot("32-oauth-app-steps").await;
    window.click("cred-sign-in").await;
    let missing = window
        .wait_text("cred-oauth-client-id-error", |text| !text.is_empty())
        .await;
    assert!(missing.contains("client ID"), "{missing}");
    window.click("cred-way-token").await;
    let token_steps = window.text("cred-token-instructions").await;
    assert!(
        token_steps.contains("github.com/settings/tokens")
            && token_steps.contains("repo")
            && token_steps.contains("read:org"),
        "{token_steps}"
    );
    window.el("cred-test").await;

    // Dark mode: the picker again.
    window.click("cred-change-server").await;
    window.el("picker-search").await;
    dark_mode(&window).await;
    type_here(&window, "issues").await;
    window
        .wait_text("picker-status", |text| text.contains("found"))
        .await;
    window.screenshot("34-server-picker-dark").await;
    press(&window, "picker-search", Key::Escape).await;
    wait_gone(&window, "server-picker").await;

    // No token anywhere the window or the disk can show it.
    assert_no_peer_token(&window).await;
    assert!(
        !window.page_source().await.contains(&token),
        "the token is in the page"
    );
    assert!(
        !window.ipc_answers().contains(&token),
        "the token is in an IPC answer"
    );
    assert!(files_containing(data.path(), token.as_bytes()).is_empty());
    window.quit().await;
}

/// Whether the Advanced part's radio `testid` is selected.
async fn checked(window: &Window, testid: &str) -> bool {
    run(
        window,
        &format!("return document.querySelector('[data-testid=\"{testid}\"]').checked === true"),
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn other_server_asks_the_server_for_its_protocol_and_its_way_of_signing_in() {
    require_environment();
    let token = unique_token("events");
    let events = McpServer::start_with("sse", &token, &["--sse-path", "/events"]);
    assert!(events.url.ends_with("/events"), "{}", events.url);
    let oauth = OAuthPeer::start();
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    create_vault(&window, "Asked").await;
    open_vault(&window, "Asked").await;

    // SSE, found by asking (the address's guess would be Streamable HTTP).
    other_server(&window).await;
    window.fill("cred-url", &events.url).await;
    window.el("cred-token").await;
    assert!(
        checked(&window, "cred-protocol-sse").await,
        "SSE chosen from the answer"
    );
    assert!(
        window.all("cred-sign-in").await.is_empty(),
        "no OAuth offered"
    );
    window.fill("cred-token", &token).await;
    window.click("cred-test").await;
    wait_outcome(&window, "cred-test-result", "ok").await;
    window.click("cred-save").await;
    window.el("cred-row").await;
    let row = window.text("cred-row").await;
    assert!(row.contains("SSE"), "{row}");

    // OAuth, found by asking: one button, nothing to paste.
    other_server(&window).await;
    window.fill("cred-url", &oauth.url).await;
    window.el("cred-oauth-instructions").await;
    assert!(checked(&window, "cred-protocol-http").await);
    window.click("cred-sign-in").await;
    window
        .wait_text("cred-saved", |text| text.contains("Signed in to"))
        .await;
    assert_eq!(oauth.stats()["code_exchanges"], 1);
    assert_no_peer_token(&window).await;
    assert!(!window.page_source().await.contains(&token));
    assert!(files_containing(data.path(), token.as_bytes()).is_empty());
    window.quit().await;
}
