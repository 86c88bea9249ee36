//! App connections in the desktop app's real window: connect Cursor to a
//! vault through the Apps screen, check its settings file on disk (a bridge
//! entry, no token, the rest of the file kept), see the card flag the entry
//! once something else rewrote it and put it back, watch the entries follow
//! a credential added in the window, then disconnect; and import: move the
//! token pasted into Claude Code's settings into a vault, then undo it. The
//! app runs with its own HOME, so the apps' settings files live in a
//! throwaway folder.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cards::{click_in_card, wait_card_text, WAIT};
use common::{create_vault, open_vault, other_server_with_token, set_up, unique_token};
use keybearer_e2e::{app_binary, files_containing, require_environment, Window};

/// Cursor's settings before Keybearer touches them: a comment, a server of
/// the user's own, and another setting. Disconnecting must give these bytes back.
const CURSOR_SETTINGS: &str = r#"{
  // my own servers
  "mcpServers": {
    "other": {"command": "my-server", "args": ["--port", "7000"]}
  },
  "theme": "dark"
}
"#;

/// Claude Code's settings with a token pasted into a header: the Apps
/// screen counts it, and nothing of it may reach the window.
const PASTED_TOKEN: &str = "lin_api_Zx81kQ2mN7pR4tV9wY3bE2e";

fn claude_code_settings() -> String {
    format!(
        r#"{{
  "mcpServers": {{
    "linear": {{"type": "http", "url": "https://mcp.linear.app/mcp", "headers": {{"Authorization": "Bearer {PASTED_TOKEN}"}}}}
  }}
}}
"#
    )
}

/// The settings file as JSON, without its `//` comment lines.
fn read_jsonc(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("settings file");
    let without_comments: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&without_comments)
        .unwrap_or_else(|e| panic!("settings file is not JSON ({e}):\n{text}"))
}

/// The bridge entries in Cursor's settings: (name, --server URL).
fn bridge_entries(settings: &serde_json::Value, program: &Path) -> Vec<(String, String)> {
    let servers = settings["mcpServers"].as_object().expect("mcpServers");
    let mut found = Vec::new();
    for (name, entry) in servers {
        let args: Vec<&str> = entry["args"]
            .as_array()
            .map(|args| args.iter().filter_map(|arg| arg.as_str()).collect())
            .unwrap_or_default();
        if !args.contains(&"bridge") {
            continue;
        }
        let command = Path::new(entry["command"].as_str().expect("command"));
        assert_eq!(
            command.canonicalize().expect("the entry's program exists"),
            program,
            "entry {name} starts the keybearer program next to the app"
        );
        assert!(args.contains(&"--connection"), "{args:?}");
        let server = args
            .iter()
            .position(|arg| *arg == "--server")
            .and_then(|at| args.get(at + 1))
            .expect("--server URL");
        found.push((name.clone(), server.to_string()));
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_connect_cursor_through_the_window_and_disconnect_it() {
    require_environment();
    let token = unique_token("apps");
    let second_token = unique_token("apps2");
    let data = tempfile::tempdir().expect("data dir");
    let home = tempfile::tempdir().expect("home");
    let cursor_file = home.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor_file.parent().expect("folder")).expect("~/.cursor");
    std::fs::write(&cursor_file, CURSOR_SETTINGS).expect("Cursor settings");
    std::fs::write(home.path().join(".claude.json"), claude_code_settings())
        .expect("Claude Code settings");
    // A settings file Keybearer cannot parse: shown as a problem, left alone.
    let codex_file = home.path().join(".codex/config.toml");
    std::fs::create_dir_all(codex_file.parent().expect("folder")).expect("~/.codex");
    std::fs::write(&codex_file, "[mcp_servers.broken\ncommand = \"x\"\n").expect("Codex settings");
    let program = app_binary()
        .parent()
        .expect("target folder")
        .join("keybearer")
        .canonicalize()
        .expect("the keybearer CLI is built next to the app (cargo build -p keybearer-cli)");

    let home_str = home.path().display().to_string();
    let window = Window::launch_with_env(data.path(), &[("HOME", &home_str)]).await;
    set_up(&window).await;
    create_vault(&window, "Agent tools").await;
    open_vault(&window, "Agent tools").await;
    other_server_with_token(&window, "https://mcp.example.com/mcp").await;
    window.fill("cred-token", &token).await;
    window.click("cred-save").await;
    window.el("cred-row").await;

    // The Apps screen: Cursor and Claude Code are here (their settings exist).
    window.click("nav-apps").await;
    window.el("apps-none-connected").await;
    let cursor_state = wait_card_text(&window, "cursor", "app-state", |t| !t.is_empty()).await;
    assert_eq!(cursor_state, "Installed");
    let path = wait_card_text(&window, "cursor", "app-config-path", |t| !t.is_empty()).await;
    assert_eq!(path, "~/.cursor/mcp.json");
    let pasted = wait_card_text(&window, "claude-code", "app-pasted", |t| !t.is_empty()).await;
    assert!(pasted.contains("1 token found in its settings"), "{pasted}");
    let import = wait_card_text(&window, "claude-code", "app-import-open", |t| !t.is_empty()).await;
    assert_eq!(import, "Move them into Keybearer…");
    let problem = wait_card_text(&window, "codex", "app-problem", |t| !t.is_empty()).await;
    assert!(problem.contains("cannot be read"), "{problem}");
    assert!(problem.contains("not changed"), "{problem}");
    let missing = wait_card_text(&window, "vscode", "app-state", |t| !t.is_empty()).await;
    assert_eq!(missing, "Not found on this computer");

    // Connect: the dialog shows the file and the server that gets an entry.
    click_in_card(&window, "cursor", "app-connect-open").await;
    window.el("app-connect-dialog").await;
    window.click("app-connect-submit").await;
    let refused = window.text("app-dialog-error").await;
    assert!(refused.contains("Choose at least one vault"), "{refused}");
    window.click("app-vault").await;
    let plan = window
        .wait_text("app-plan", |text| {
            text.contains("https://mcp.example.com/mcp")
        })
        .await;
    assert!(plan.contains("~/.cursor/mcp.json"), "{plan}");
    assert!(plan.contains("from Agent tools"), "{plan}");
    window.screenshot("14-apps-connect").await;
    window.click("app-connect-submit").await;
    let result = window
        .wait_text("app-change", |text| text.contains("Connected Cursor"))
        .await;
    assert!(
        result.contains("Added to ~/.cursor/mcp.json: example"),
        "{result}"
    );
    // Cursor reloads its settings by itself: no restart needed.
    assert!(window.all("app-change-restart").await.is_empty());
    wait_card_text(&window, "cursor", "app-state", |t| t == "Connected").await;
    let vaults = wait_card_text(&window, "cursor", "app-vaults", |t| !t.is_empty()).await;
    assert!(vaults.contains("Agent tools"), "{vaults}");
    let entries = wait_card_text(&window, "cursor", "app-entries", |t| !t.is_empty()).await;
    assert_eq!(entries, "example");

    // On disk: one bridge entry for the server, no token; the rest kept.
    let settings = read_jsonc(&cursor_file);
    assert_eq!(
        bridge_entries(&settings, &program),
        [(
            "example".to_string(),
            "https://mcp.example.com/mcp".to_string()
        )]
    );
    assert_eq!(settings["mcpServers"]["other"]["command"], "my-server");
    assert_eq!(settings["theme"], "dark");
    let text = std::fs::read_to_string(&cursor_file).expect("settings");
    assert!(text.contains("// my own servers"), "{text}");
    assert!(!text.contains(&token), "a token in Cursor's settings");
    window
        .client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll to the top");
    window.screenshot("13-apps").await;

    // Something else rewrites Keybearer's entry: another program, and
    // LD_PRELOAD in its variables. The card says so, and "Put it back"
    // writes the entry back exactly as Keybearer wrote it.
    let written = std::fs::read_to_string(&cursor_file).expect("settings");
    let command = settings["mcpServers"]["example"]["command"]
        .as_str()
        .expect("command")
        .to_string();
    let quoted = serde_json::to_string(&command).expect("quoted");
    let tampered = written.replacen(&quoted, "\"/tmp/x\"", 1).replacen(
        "\"KEYBEARER_HOME\"",
        "\"LD_PRELOAD\": \"/tmp/evil.so\", \"KEYBEARER_HOME\"",
        1,
    );
    assert!(tampered.contains("/tmp/x") && tampered.contains("LD_PRELOAD"));
    std::fs::write(&cursor_file, &tampered).expect("tamper");
    window.click("apps-refresh").await;
    let flag = wait_card_text(&window, "cursor", "app-changed", |t| t.contains("/tmp/x")).await;
    assert!(
        flag.contains(
            "The Keybearer entry \"example\" in Cursor's settings now runs /tmp/x instead of Keybearer. It now sets LD_PRELOAD, which Keybearer did not write. Something changed it."
        ),
        "{flag}"
    );
    assert!(
        flag.contains("1 Keybearer entry was changed by something else"),
        "{flag}"
    );
    window.screenshot("17-apps-changed").await;
    let other_flags = window.all("app-changed").await;
    assert_eq!(other_flags.len(), 1, "only Cursor's card is flagged");
    click_in_card(&window, "cursor", "app-put-back").await;
    let result = window
        .wait_text("app-change", |text| text.contains("Put back"))
        .await;
    assert!(
        result.contains("Put back in ~/.cursor/mcp.json as Keybearer writes it: example."),
        "{result}"
    );
    assert_eq!(
        std::fs::read_to_string(&cursor_file).expect("settings"),
        written,
        "the entry is back as Keybearer wrote it, the rest of the file untouched"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while !window.all("app-changed").await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "the flag stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A credential added in the window: Cursor's entries follow.
    window.click("nav-vaults").await;
    window.el("vault-row").await;
    open_vault(&window, "Agent tools").await;
    other_server_with_token(&window, "https://tools.example.org/mcp").await;
    window.fill("cred-token", &second_token).await;
    window.click("cred-save").await;
    window
        .wait_text("vault-detail", |text| text.contains("tools.example.org"))
        .await;
    let servers: Vec<String> = bridge_entries(&read_jsonc(&cursor_file), &program)
        .into_iter()
        .map(|(_, url)| url)
        .collect();
    assert_eq!(
        servers,
        [
            "https://mcp.example.com/mcp",
            "https://tools.example.org/mcp"
        ]
    );
    window.click("nav-apps").await;
    let entries = wait_card_text(&window, "cursor", "app-entries", |t| t.contains(',')).await;
    assert!(entries.starts_with("example, "), "{entries}");

    // Disconnect: the confirmation names the file and the entries it removes.
    click_in_card(&window, "cursor", "app-disconnect-open").await;
    let confirm = window.text("confirm-dialog").await;
    assert!(confirm.contains("~/.cursor/mcp.json"), "{confirm}");
    assert!(confirm.contains("example"), "{confirm}");
    window.click("confirm-disconnect").await;
    let result = window
        .wait_text("app-change", |text| text.contains("Disconnected Cursor"))
        .await;
    assert!(
        result.contains("Removed from ~/.cursor/mcp.json"),
        "{result}"
    );
    wait_card_text(&window, "cursor", "app-state", |t| t == "Installed").await;
    assert_eq!(
        std::fs::read_to_string(&cursor_file).expect("settings"),
        CURSOR_SETTINGS,
        "disconnecting gives the file back as it was"
    );

    // No token anywhere the window can see, nor in the data folder.
    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for secret in [&token, &second_token, &PASTED_TOKEN.to_string()] {
        assert!(!page.contains(secret.as_str()), "a token in the page");
        assert!(
            !answers.contains(secret.as_str()),
            "a token in an IPC answer"
        );
        assert!(files_containing(data.path(), secret.as_bytes()).is_empty());
    }
    assert_eq!(
        std::fs::read_to_string(&codex_file).expect("Codex settings"),
        "[mcp_servers.broken\ncommand = \"x\"\n"
    );
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apps_import_moves_a_pasted_token_into_a_vault_and_undo_gives_the_file_back() {
    require_environment();
    let data = tempfile::tempdir().expect("data dir");
    let home = tempfile::tempdir().expect("home");
    let claude_file = home.path().join(".claude.json");
    let before = claude_code_settings();
    std::fs::write(&claude_file, &before).expect("Claude Code settings");
    let program = app_binary()
        .parent()
        .expect("target folder")
        .join("keybearer")
        .canonicalize()
        .expect("the keybearer CLI is built next to the app (cargo build -p keybearer-cli)");

    let home_str = home.path().display().to_string();
    let window = Window::launch_with_env(data.path(), &[("HOME", &home_str)]).await;
    set_up(&window).await;
    create_vault(&window, "Imported").await;

    // The card offers the import; the dialog shows where the token is, not what.
    window.click("nav-apps").await;
    wait_card_text(&window, "claude-code", "app-pasted", |t| {
        t.contains("1 token found")
    })
    .await;
    click_in_card(&window, "claude-code", "app-import-open").await;
    window.el("app-import-dialog").await;
    let found = window
        .wait_text("app-import-found", |text| text.contains("linear"))
        .await;
    assert!(found.contains("https://mcp.linear.app/mcp"), "{found}");
    assert!(found.contains("Authorization header"), "{found}");
    assert!(found.contains("Will be moved"), "{found}");
    let vault = window.el("app-import-vault").await;
    let chosen = vault.prop("value").await.ok().flatten().unwrap_or_default();
    assert!(
        chosen.starts_with("vlt_"),
        "a vault is preselected: {chosen}"
    );
    assert!(vault.text().await.unwrap_or_default().contains("Imported"));
    window.screenshot("16-apps-import").await;

    // Continue: the confirmation says what will change; then move the token.
    window.click("app-import-submit").await;
    let plan = window
        .wait_text("app-import-plan", |text| text.contains("Imported"))
        .await;
    assert!(plan.contains("linear"), "{plan}");
    assert!(plan.contains("Undo import"), "{plan}");
    assert!(plan.contains("connect Claude Code to Imported"), "{plan}");
    assert_eq!(
        std::fs::read_to_string(&claude_file).expect("settings"),
        before,
        "nothing changes before the confirmation"
    );
    window.click("app-import-submit").await;
    let result = window
        .wait_text("app-import-result", |text| text.contains("Moved"))
        .await;
    assert!(
        result.contains("Moved 1 token from Claude Code's settings into Imported."),
        "{result}"
    );
    assert!(
        result.contains("linear now starts Keybearer's bridge"),
        "{result}"
    );
    assert!(result.contains("Restart Claude Code"), "{result}");
    wait_card_text(&window, "claude-code", "app-state", |t| t == "Connected").await;
    let vaults = wait_card_text(&window, "claude-code", "app-vaults", |t| !t.is_empty()).await;
    assert!(vaults.contains("Imported"), "{vaults}");
    assert!(
        window.all("app-pasted").await.is_empty(),
        "no pasted token is left"
    );

    // On disk: the entry starts the bridge and holds no token.
    let text = std::fs::read_to_string(&claude_file).expect("settings");
    assert!(
        !text.contains(PASTED_TOKEN),
        "the token is still in the file:\n{text}"
    );
    let settings: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        bridge_entries(&settings, &program),
        [(
            "linear".to_string(),
            "https://mcp.linear.app/mcp".to_string()
        )]
    );

    // Undo: the confirmation says the tokens go back too; the file is as before.
    click_in_card(&window, "claude-code", "app-undo-import-open").await;
    let confirm = window.text("confirm-dialog").await;
    assert!(confirm.contains("~/.claude.json"), "{confirm}");
    assert!(confirm.contains("tokens included"), "{confirm}");
    assert!(confirm.contains("stay in the vault"), "{confirm}");
    window.click("confirm-undo-import").await;
    window
        .wait_text("app-import-result", |text| {
            text.contains("Put ~/.claude.json back as it was before the import.")
        })
        .await;
    assert_eq!(
        std::fs::read(&claude_file).expect("settings"),
        before.as_bytes(),
        "undo gives the file back byte for byte"
    );
    wait_card_text(&window, "claude-code", "app-state", |t| t != "Connected").await;
    wait_card_text(&window, "claude-code", "app-pasted", |t| {
        t.contains("1 token found")
    })
    .await;
    assert!(window.all("app-undo-import-open").await.is_empty());

    // The token never reached the window; the data folder holds it sealed only.
    assert!(!window.page_source().await.contains(PASTED_TOKEN));
    assert!(!window.ipc_answers().contains(PASTED_TOKEN));
    let leaked = files_containing(data.path(), PASTED_TOKEN.as_bytes());
    assert!(leaked.is_empty(), "the pasted token in {leaked:?}");
    window.quit().await;
}
