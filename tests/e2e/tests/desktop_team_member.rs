//! Team vaults in the real window, as a member sees them, against a real
//! OpenBao (`bao server -dev`, crates/team/tests/support/bao.rs) and the
//! official Python SDK's MCP server: the Activity screen shows who changed
//! a team vault's credential (Alice, from Keybearer) and a change made
//! outside Keybearer, worded as `keybearer team history` words it; a
//! read-only member (Bob) sees the vault's forms disabled with the reason,
//! and the IPC write commands refuse him on their own; with the server
//! stopped, a session's team source (in another process than the window,
//! as sessions and bridges are) records since when it is out of reach, and
//! Settings → Team servers and the vault's page say that time. Screenshots for the README, light and dark. No
//! password, token or OpenBao secret in the page, an IPC answer or the
//! data folder. (A team credential in a session's coverage:
//! desktop_team.rs.)

#[path = "../../../crates/team/tests/support/bao.rs"]
mod bao;
mod common;

use common::{dark_mode, open_vault, other_server_with_token, set_up, unique_token};
use keybearer_e2e::{files_containing, require_environment, McpServer, Window};
use serde_json::json;

async fn sign_in(window: &Window, user: &str, password: &str) {
    window.click("team-sign-in-open").await;
    window.fill("team-user", user).await;
    window.fill("team-secret", password).await;
    window.click("team-sign-in-submit").await;
    let expected = format!("Signed in as userpass-{user}");
    window
        .wait_text("team-server-state", |state| state == expected)
        .await;
}

/// The Team servers card at the top of the window (for a screenshot).
async fn show_team_card(window: &Window) {
    let card = window.el("team-servers").await;
    let handle = serde_json::to_value(&card).expect("element handle");
    window
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -80); return true;",
            vec![handle],
        )
        .await
        .expect("scroll to the team servers");
}

/// Settings again (the card asks the servers when it shows).
async fn reopen_settings(window: &Window) {
    window.click("nav-vaults").await;
    window.click("nav-settings").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_sees_history_read_only_forms_and_an_unreachable_server() {
    require_environment();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut bao = bao::Bao::start();
    let alice = bao.add_user("alice", "member-rw", "1h", "2h");
    let bob = bao.add_user("bob", "member-ro", "1h", "2h");
    let token = unique_token("teamro");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;

    // Alice adds the server, a team vault and a credential.
    window.click("nav-settings").await;
    window.click("team-add-open").await;
    window.fill("team-address", &bao.address).await;
    window.fill("team-name", "acme").await;
    window.fill("team-mount", bao::MOUNT).await;
    window.click("team-add-submit").await;
    window
        .wait_text("team-server-state", |state| state == "Not signed in")
        .await;
    sign_in(&window, "alice", alice.expose()).await;
    show_team_card(&window).await;
    window.screenshot("team-servers-signed-in").await;
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
    window.click("vault-create-submit").await;
    window
        .wait_text("vault-team-badge", |text| text.contains("acme"))
        .await;
    open_vault(&window, "Shared tools").await;
    other_server_with_token(&window, &server.url).await;
    window.fill("cred-token", &token).await;
    window.click("cred-save").await;
    let id = window.wait_attr("cred-row", "data-credential-id").await;
    assert!(id.starts_with("tcr_"), "{id}");
    assert!(
        window.all("cred-read-only").await.is_empty(),
        "Alice may change it"
    );

    // Someone changes it outside Keybearer (the administrator, with bao).
    let folder = format!(
        "{}/metadata/keybearer/development/shared-tools/",
        bao::MOUNT
    );
    let listed = bao.root(http::Method::GET, &format!("{folder}?list=true"), json!({}));
    let key = listed["data"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|key| key.as_str())
        .find(|key| !key.starts_with('_'))
        .expect("the credential's key")
        .to_string();
    let path = format!(
        "{}/data/keybearer/development/shared-tools/{key}",
        bao::MOUNT
    );
    let current = bao.root(http::Method::GET, &path, json!({}));
    bao.root(
        http::Method::POST,
        &path,
        json!({ "data": current["data"]["data"] }),
    );

    // Activity, filtered to the team vault: both changes, newest first.
    window.click("nav-activity").await;
    let filter = window.el("events-filter").await;
    let option = filter
        .find(fantoccini::Locator::XPath(
            "//option[normalize-space()='Shared tools']",
        ))
        .await
        .expect("the team vault in the filter")
        .attr("value")
        .await
        .ok()
        .flatten()
        .expect("its id");
    window.select("events-filter", &option).await;
    let changes = window
        .wait_text("team-changes-table", |text| text.contains("userpass-alice"))
        .await;
    assert!(changes.contains(&server.url), "{changes}");
    assert!(
        changes.contains("not recorded (changed outside Keybearer)"),
        "{changes}"
    );
    let rows = window.all("team-change-row").await;
    assert_eq!(rows.len(), 2, "{changes}");
    assert_eq!(
        rows[0].attr("data-outside").await.ok().flatten().as_deref(),
        Some("true"),
        "the newest is the outside change"
    );
    window.screenshot("team-activity").await;

    // Bob may only read: the forms are disabled, with the reason.
    window.click("nav-settings").await;
    window.click("team-sign-out").await;
    window
        .wait_text("team-server-state", |state| state == "Not signed in")
        .await;
    sign_in(&window, "bob", bob.expose()).await;
    window.click("nav-vaults").await;
    open_vault(&window, "Shared tools").await;
    let reason = window.text("cred-read-only").await;
    assert_eq!(
        reason,
        "Your account on acme may use these credentials but not change them; ask its administrator."
    );
    let fields = window.el("cred-form-fields").await;
    assert_eq!(
        fields.prop("disabled").await.ok().flatten().as_deref(),
        Some("true")
    );
    for testid in ["cred-replace-open", "cred-delete-open"] {
        let button = window.el(testid).await;
        assert_eq!(
            button.prop("disabled").await.ok().flatten().as_deref(),
            Some("true"),
            "{testid}"
        );
    }
    window.screenshot("team-vault-read-only").await;

    // The window is not the guard: the IPC commands refuse Bob too.
    for (command, args) in [
        ("delete_credential", json!({ "id": id })),
        (
            "replace_token",
            json!({ "id": id, "secret": { "kind": "bearer", "token": "tok-bob-would-write" } }),
        ),
    ] {
        let answer = window
            .client
            .execute_async(
                "const [command, args, done] = arguments;
                 window.__TAURI_INTERNALS__.invoke(command, args)
                   .then(() => done('accepted'), (error) => done(JSON.stringify(error)));",
                vec![json!(command), args],
            )
            .await
            .expect("invoke");
        let answer = answer.as_str().unwrap_or_default().to_string();
        assert!(answer.contains("team_denied"), "{command}: {answer}");
    }
    let (_, still) = bao.try_root(http::Method::GET, &path, None);
    assert_eq!(
        still["data"]["data"], current["data"]["data"],
        "nothing changed"
    );

    // A session's team source, in a process of its own (here the test's):
    // with the server up it keeps the last good value; with the server
    // stopped, a new session's source uses it and records since when the
    // server has not answered — before the window asks anything.
    let vault_id = window.wait_attr("vault-detail", "data-vault-id").await;
    let team_server_id = server_id.clone();
    let data_dir = data.path().to_path_buf();
    let session_url = server.url.clone();
    let (engine_data, session_ids) = (data_dir.clone(), vec![vault_id.clone()]);
    tokio::task::spawn_blocking(move || {
        let mut engine = keybearer_vault::Engine::open(&engine_data).expect("engine");
        let sources =
            keybearer_team_vaults::for_session(&mut engine, &session_ids).expect("a session");
        assert!(sources.servers.iter().any(|(url, _)| *url == session_url));
    })
    .await
    .expect("session source");
    bao.stop();
    let session_ids = vec![vault_id.clone()];
    let session_url = server.url.clone();
    let (before, since, after) = tokio::task::spawn_blocking(move || {
        let mut engine = keybearer_vault::Engine::open(&data_dir).expect("engine");
        let before = keybearer_vault::Timestamp::now();
        let sources = keybearer_team_vaults::for_session(&mut engine, &session_ids)
            .expect("the last good value while the server is down");
        let after = keybearer_vault::Timestamp::now();
        assert!(sources.servers.iter().any(|(url, _)| *url == session_url));
        let since = engine
            .team_catalog()
            .server(&team_server_id)
            .expect("the team server")
            .unreachable_since
            .expect("recorded by the session's source");
        (before, since, after)
    })
    .await
    .expect("offline session source");
    assert!(
        before <= since && since <= after,
        "{before:?} {since:?} {after:?}"
    );

    // Settings and the vault's page say since when: that time.
    reopen_settings(&window).await;
    let notice = window
        .wait_text("team-unreachable", |text| {
            text.starts_with("Unreachable since")
        })
        .await;
    assert!(
        notice.ends_with("agents use the last value it gave for up to 1 hour."),
        "{notice}"
    );
    assert!(
        window
            .ipc_answers()
            .contains(&format!("\"unreachable_since\":\"{}\"", since.to_rfc3339())),
        "the window shows the session's time"
    );
    show_team_card(&window).await;
    window.screenshot("team-servers-unreachable").await;
    window.click("nav-vaults").await;
    open_vault(&window, "Shared tools").await;
    let page_notice = window.text("vault-team-unreachable").await;
    assert!(page_notice.contains(&notice), "{page_notice} / {notice}");
    window.screenshot("team-vault-unreachable").await;
    // The same in dark mode (it stays on for the rest of the window's life).
    dark_mode(&window).await;
    window.screenshot("team-vault-unreachable-dark").await;
    window.click("nav-settings").await;
    window
        .wait_text("team-unreachable", |text| {
            text.starts_with("Unreachable since")
        })
        .await;
    show_team_card(&window).await;
    window.screenshot("team-servers-unreachable-dark").await;

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    let mut secrets = bao.secrets();
    secrets.push(token.clone());
    for secret in &secrets {
        assert!(!page.contains(secret.as_str()), "a secret in the page");
        assert!(
            !answers.contains(secret.as_str()),
            "a secret in an IPC answer"
        );
        assert!(
            files_containing(data.path(), secret.as_bytes()).is_empty(),
            "a secret in the data folder"
        );
    }
    window.quit().await;
}
