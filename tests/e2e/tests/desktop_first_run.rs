//! The first-run path in the desktop app's real window, from an empty data
//! folder and a throwaway HOME. Cursor's settings hold a pasted token and
//! Claude Desktop's none: the person picks both, moves Cursor's token in
//! (the Apps screen's import), adds "Team Notes" from the picker (a local MCP
//! Registry entry at the OAuth test peer) and signs in with one button, and
//! connects Claude Desktop; the last screen says what now works. Both
//! settings files then hold bridge entries for both servers and no token;
//! so do the IPC answers, the page and the data folder. The clicks and typed
//! fields from the first screen to connected are counted and printed (the
//! README lists them). Also: every step skipped from a HOME without apps
//! (the empty state, then what to do next and where), and a restart midway
//! (the main window opens, with what was done; the path is not offered
//! again). Screenshots light and dark.

#![cfg(unix)] // the apps' programs are hidden from PATH with symlinks
#![allow(clippy::print_stderr)] // the counts are printed for the README

mod common;

use std::path::{Path, PathBuf};

use common::cards::find;
use common::oauth::{assert_no_peer_token, holds_peer_token, OAuthPeer};
use common::registry::{registry_server, RegistryPeer};
use common::{cli, dark_mode};
use keybearer_e2e::{files_containing, require_environment, Window};

/// Pasted into Cursor's settings before Keybearer starts.
const PASTED_TOKEN: &str = "lin_api_FirstRun7kQ2mN7pR4tV9wY3bE2g";
const LINEAR: &str = "https://mcp.linear.app/mcp";

fn cursor_settings() -> String {
    format!(
        r#"{{
  "mcpServers": {{
    "linear": {{"url": "{LINEAR}", "headers": {{"Authorization": "Bearer {PASTED_TOKEN}"}}}}
  }}
}}
"#
    )
}

/// A throwaway HOME; with `apps`, Cursor's settings (a pasted token) and
/// Claude Desktop's (no server yet).
fn home_with(apps: bool) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let home = tempfile::tempdir().expect("home");
    let cursor = home.path().join(".cursor/mcp.json");
    let claude = home
        .path()
        .join(".config/Claude/claude_desktop_config.json");
    if apps {
        std::fs::create_dir_all(cursor.parent().expect("folder")).expect("~/.cursor");
        std::fs::write(&cursor, cursor_settings()).expect("Cursor settings");
        std::fs::create_dir_all(claude.parent().expect("folder")).expect("~/.config/Claude");
        std::fs::write(&claude, "{\n  \"mcpServers\": {}\n}\n").expect("Claude Desktop settings");
    }
    (home, cursor, claude)
}

/// The `--server` address of each bridge entry in an app's JSON settings.
fn bridge_servers(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("settings file");
    let settings: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let mut servers: Vec<String> = settings["mcpServers"]
        .as_object()
        .expect("mcpServers")
        .values()
        .filter_map(|entry| {
            let args: Vec<&str> = entry["args"]
                .as_array()?
                .iter()
                .filter_map(|arg| arg.as_str())
                .collect();
            if !args.contains(&"bridge") {
                return None;
            }
            let at = args.iter().position(|arg| *arg == "--server")?;
            args.get(at + 1).map(|url| url.to_string())
        })
        .collect();
    servers.sort();
    servers
}

/// The step the first-run path shows, once it shows `step`.
async fn wait_step(window: &Window, step: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let current = window
            .client
            .execute(
                "return document.querySelector('[data-testid=\"screen-first-steps\"]')?.dataset.step ?? ''",
                vec![],
            )
            .await
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        if current == step {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "step {step} never showed (last: {current:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Clicks the element `selector` finds, scrolled to the middle first.
async fn click_at(window: &Window, selector: &str) {
    let element = find(window, selector).await;
    let handle = serde_json::to_value(&element).expect("element handle");
    window
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![handle],
        )
        .await
        .expect("scroll");
    element.click().await.expect("click");
}

fn app_check(app: &str) -> String {
    format!("[data-testid=\"first-steps-app\"][data-app=\"{app}\"] [data-testid=\"first-steps-app-check\"]")
}

/// The recovery key screen passed: the path's first step shows.
async fn through_the_key(window: &Window, clicks: &mut u32) {
    window.wait_screen("first-run").await;
    window.click("setup-keychain").await;
    window.wait_screen("recovery-key").await;
    window.click("recovery-key-saved").await;
    window.click("recovery-key-continue").await;
    *clicks += 3;
    window.wait_screen("first-steps").await;
    wait_step(window, "apps").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_moves_a_pasted_token_in_signs_in_and_connects_the_apps() {
    require_environment();
    let oauth = OAuthPeer::start();
    let registry = RegistryPeer::start();
    registry.serve(vec![registry_server(
        "io.example/team-notes",
        "Team Notes",
        &oauth.url,
    )]);
    let data = tempfile::tempdir().expect("data dir");
    let (home, cursor_file, claude_file) = home_with(true);
    let home_str = home.path().display().to_string();
    let window = Window::launch_with_env(
        data.path(),
        &[("HOME", &home_str), ("KEYBEARER_TEST_OPENER", "follow")],
    )
    .await;

    let (mut clicks, mut typed) = (0, 0);
    through_the_key(&window, &mut clicks).await;
    // The registry's address is a setting; the app reads what the command line fetched.
    cli(data.path(), &["settings", "registry", &registry.base], "");
    cli(data.path(), &["catalog", "--refresh"], "");

    // 1. Which apps: the two found, Cursor with its pasted token; nothing ticked.
    let found = window
        .wait_text("screen-first-steps", |text| text.contains("Cursor"))
        .await;
    assert!(found.contains("Claude Desktop"), "{found}");
    assert!(found.contains("1 token found in its settings"), "{found}");
    assert!(
        found.contains("Not found here:") && found.contains("VS Code"),
        "{found}"
    );
    assert!(
        window.all("first-steps-back").await.is_empty(),
        "no Back before the first step"
    );
    let continue_button = window.el("first-steps-continue").await;
    assert!(!continue_button.is_enabled().await.unwrap_or(true));
    window.screenshot("40-first-steps-apps").await;
    click_at(&window, &app_check("cursor")).await;
    click_at(&window, &app_check("claude-desktop")).await;
    window.click("first-steps-continue").await;
    clicks += 3;

    // 2. Cursor's pasted token, moved in with the Apps screen's import.
    wait_step(&window, "import").await;
    let listed = window.all("first-steps-import-app").await;
    assert_eq!(listed.len(), 1, "only Cursor holds a token");
    window.click("first-steps-import-open").await;
    window.el("app-import-dialog").await;
    window
        .wait_text("app-import-found", |text| text.contains("linear"))
        .await;
    window.click("app-import-submit").await;
    window
        .wait_text("app-import-plan", |text| text.contains("My servers"))
        .await;
    window.click("app-import-submit").await;
    clicks += 3;
    let result = window
        .wait_text("first-steps-import-result", |text| text.contains("Moved"))
        .await;
    assert!(
        result.contains("Moved 1 token from Cursor's settings into My servers."),
        "{result}"
    );
    assert!(!std::fs::read_to_string(&cursor_file)
        .expect("Cursor settings")
        .contains(PASTED_TOKEN));
    window.screenshot("41-first-steps-import").await;
    window.click("first-steps-continue").await;
    clicks += 1;

    // 3. A first server from the picker: the registry's entry, signed in with one button.
    wait_step(&window, "server").await;
    let have = window.text("first-steps-servers").await;
    assert!(
        have.contains("My servers") && have.contains("Linear"),
        "{have}"
    );
    window.click("first-steps-pick").await;
    clicks += 1;
    let note = window.text("picker-note").await;
    assert!(note.contains("My servers"), "{note}");
    window.fill("picker-search", "team").await;
    typed += 1;
    click_at(
        &window,
        "[data-testid=\"picker-option\"][data-server-id=\"io.example/team-notes\"]",
    )
    .await;
    clicks += 1;
    let sign_in = window
        .wait_text("cred-sign-in", |text| text.contains("Sign in with"))
        .await;
    assert_eq!(sign_in, "Sign in with Team Notes");
    window.screenshot("42-first-steps-server").await;
    window.click("cred-sign-in").await;
    clicks += 1;
    let have = window
        .wait_text("first-steps-servers", |text| text.contains("Team Notes"))
        .await;
    // The vault lists its servers by address: the peer's http://127.0.0.1 first.
    assert!(have.contains("Team Notes and Linear"), "{have}");
    assert_eq!(oauth.stats()["code_exchanges"], 1);
    window.click("first-steps-continue").await;
    clicks += 1;

    // 4. Connect: Cursor is connected since its import; Claude Desktop is not yet.
    wait_step(&window, "connect").await;
    let plan = window.text("screen-first-steps").await;
    assert!(
        plan.contains(
            "Claude Desktop gets one entry for each server in My servers: Team Notes and Linear."
        ),
        "{plan}"
    );
    assert!(plan.contains("Cursor is connected already."), "{plan}");
    window.screenshot("43-first-steps-connect").await;
    window.click("first-steps-connect").await;
    clicks += 1;

    // 5. What now works, in words.
    wait_step(&window, "done").await;
    let summary = window
        .wait_text("first-steps-summary", |text| !text.is_empty())
        .await;
    assert_eq!(
        summary,
        "Claude Desktop and Cursor can use Team Notes and Linear."
    );
    let restart = window.text("first-steps-restart").await;
    assert_eq!(
        restart,
        "Restart Claude Desktop so it loads its new entries."
    );
    eprintln!(
        "From the first screen to Cursor and Claude Desktop connected (a pasted token moved in, a server signed in to): {clicks} clicks and {typed} typed field (the picker's search); the browser's sign-in page aside."
    );
    assert_eq!((clicks, typed), (15, 1));
    window.screenshot("44-first-steps-done").await;

    // On disk: both apps' settings start the bridge for both servers; no token.
    let mut expected = vec![LINEAR.to_string(), oauth.url.clone()];
    expected.sort();
    assert_eq!(bridge_servers(&cursor_file), expected);
    assert_eq!(bridge_servers(&claude_file), expected);
    for file in [&cursor_file, &claude_file] {
        let bytes = std::fs::read(file).expect("settings");
        assert!(!keybearer_e2e::contains(&bytes, PASTED_TOKEN.as_bytes()));
        assert!(!holds_peer_token(&bytes), "a token in {}", file.display());
    }
    for folder in [
        home.path().join(".cursor"),
        home.path().join(".config/Claude"),
    ] {
        assert!(files_containing(&folder, PASTED_TOKEN.as_bytes()).is_empty());
    }

    // The window, its IPC answers and the data folder hold neither token.
    assert_no_peer_token(&window).await;
    assert!(!window.page_source().await.contains(PASTED_TOKEN));
    assert!(!window.ipc_answers().contains(PASTED_TOKEN));
    assert!(files_containing(data.path(), PASTED_TOKEN.as_bytes()).is_empty());

    // Dark, then the main window: the vault and the connected apps are there.
    dark_mode(&window).await;
    window.screenshot("45-first-steps-done-dark").await;
    window.click("first-steps-finish").await;
    window.wait_screen("main").await;
    window
        .wait_text("screen-main", |text| text.contains("My servers"))
        .await;
    window.quit().await;
}

/// A PATH holding only tauri-driver and WebKitWebDriver (the harness starts
/// them by name), so no app's program is found on it whatever this
/// computer has installed.
fn path_without_apps() -> tempfile::TempDir {
    let bin = tempfile::tempdir().expect("bin");
    let path = std::env::var_os("PATH").expect("PATH");
    for program in ["tauri-driver", "WebKitWebDriver"] {
        let found = std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
            .or_else(|| {
                let cargo = std::env::var_os("CARGO_HOME").map(PathBuf::from)?;
                Some(cargo.join("bin").join(program)).filter(|p| p.is_file())
            })
            .unwrap_or_else(|| panic!("{program} on PATH"));
        std::os::unix::fs::symlink(found, bin.path().join(program)).expect("symlink");
    }
    bin
}

#[tokio::test(flavor = "multi_thread")]
async fn every_step_skipped_from_a_home_without_apps_says_what_to_do_next() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let (home, _, _) = home_with(false);
    let bin = path_without_apps();
    let home_str = home.path().display().to_string();
    let path_str = bin.path().display().to_string();
    let window =
        Window::launch_with_env(data.path(), &[("HOME", &home_str), ("PATH", &path_str)]).await;
    let mut clicks = 0;
    through_the_key(&window, &mut clicks).await;

    // No app found: said so, and Continue goes on.
    let empty = window.text("first-steps-no-apps").await;
    assert!(
        empty.contains("No AI apps found on this computer"),
        "{empty}"
    );
    assert!(
        empty.contains("Cursor") && empty.contains("Claude Desktop"),
        "{empty}"
    );
    dark_mode(&window).await;
    window.screenshot("46-first-steps-no-apps-dark").await;
    window.click("first-steps-continue").await;

    // The server step, skipped: no vault is made for nothing.
    wait_step(&window, "server").await;
    let continue_button = window.el("first-steps-continue").await;
    assert!(!continue_button.is_enabled().await.unwrap_or(true));
    window.click("first-steps-back").await;
    wait_step(&window, "apps").await;
    window.click("first-steps-continue").await;
    wait_step(&window, "server").await;
    window.click("first-steps-skip").await;

    wait_step(&window, "done").await;
    let summary = window
        .wait_text("first-steps-summary", |text| !text.is_empty())
        .await;
    assert!(summary.contains("Nothing is connected yet"), "{summary}");
    let next = window.text("first-steps-next").await;
    assert!(next.contains("Add your first server"), "{next}");
    assert!(next.contains("Apps, then Connect"), "{next}");
    assert!(window.all("first-steps-back").await.is_empty());
    window.screenshot("47-first-steps-skipped-dark").await;
    window.click("first-steps-finish").await;
    window.wait_screen("main").await;
    window.el("empty-vaults").await;
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_midway_opens_the_main_window_with_what_was_done() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let (home, cursor_file, _) = home_with(true);
    let home_str = home.path().display().to_string();
    let window = Window::launch_with_env(data.path(), &[("HOME", &home_str)]).await;
    let mut clicks = 0;
    through_the_key(&window, &mut clicks).await;

    // Back and forth keeps the choice.
    click_at(&window, &app_check("cursor")).await;
    window.click("first-steps-continue").await;
    wait_step(&window, "import").await;
    window.click("first-steps-back").await;
    wait_step(&window, "apps").await;
    let ticked = find(&window, &app_check("cursor"))
        .await
        .prop("checked")
        .await
        .ok()
        .flatten();
    assert_eq!(ticked.as_deref(), Some("true"));
    dark_mode(&window).await;
    window.screenshot("48-first-steps-apps-dark").await;
    window.click("first-steps-continue").await;
    wait_step(&window, "import").await;

    // The import, then the window closes on the server step.
    window.click("first-steps-import-open").await;
    window.el("app-import-dialog").await;
    window
        .wait_text("app-import-found", |text| text.contains("linear"))
        .await;
    window.click("app-import-submit").await;
    window.el("app-import-plan").await;
    window.click("app-import-submit").await;
    window
        .wait_text("first-steps-import-result", |text| text.contains("Moved"))
        .await;
    window.click("first-steps-continue").await;
    wait_step(&window, "server").await;
    window.quit().await;

    // Opened again: the main window, not the path, with the import's vault
    // and Cursor connected.
    let window = Window::launch_with_env(data.path(), &[("HOME", &home_str)]).await;
    window.wait_screen("main").await;
    window
        .wait_text("screen-main", |text| text.contains("My servers"))
        .await;
    window.click("nav-apps").await;
    common::cards::wait_card_text(&window, "cursor", "app-state", |t| t == "Connected").await;
    assert_eq!(bridge_servers(&cursor_file), [LINEAR.to_string()]);
    assert!(!window.ipc_answers().contains(PASTED_TOKEN));
    assert!(files_containing(data.path(), PASTED_TOKEN.as_bytes()).is_empty());
    window.quit().await;
}
