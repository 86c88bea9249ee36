//! The desktop app end to end, in its real window: first run, environments,
//! vaults, credentials tested against a real MCP server, rotation, deletion,
//! leak checks (DOM, IPC answers, data folder), recovery after a wiped
//! keychain, and invalid input. Each flow saves screenshots.

use std::process::Command;

use keybearer_e2e::{files_containing, repo_root, require_environment, McpServer, Window};

/// SHA-256 hex, as the test server's whoami tool reports the token it got.
fn sha256_hex(text: &str) -> String {
    let output = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("hash")
        .to_string()
}

fn unique_token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("e2e_{label}_{nanos:x}")
}

/// First run through to the main screen; returns the recovery key shown.
async fn set_up(window: &Window) -> String {
    window.wait_screen("first-run").await;
    window.screenshot("01-first-run").await;
    window.click("setup-keychain").await;
    window.wait_screen("recovery-key").await;
    let key = window.text("recovery-key-value").await.trim().to_string();
    assert_eq!(
        key.split('-').count(),
        8,
        "recovery key looks like ABCD-…: {key:?}"
    );
    window.screenshot("02-recovery-key").await;
    // Continue is refused until the user confirms they saved the key.
    let continue_button = window.el("recovery-key-continue").await;
    assert!(
        !continue_button.is_enabled().await.unwrap_or(true),
        "continue must wait for the checkbox"
    );
    window.click("recovery-key-saved").await;
    window.click("recovery-key-continue").await;
    window.wait_screen("main").await;
    key
}

async fn create_vault(window: &Window, name: &str) {
    window.click("vault-create-open").await;
    window.fill("vault-name", name).await;
    window.click("vault-create-submit").await;
    window
        .wait_text("screen-main", |text| text.contains(name))
        .await;
}

async fn open_vault(window: &Window, name: &str) {
    for row in window.all("vault-row").await {
        if row.text().await.unwrap_or_default().contains(name) {
            let open = row
                .find(fantoccini::Locator::Css("[data-testid=\"vault-open\"]"))
                .await
                .expect("open button in the row");
            open.click().await.expect("open vault");
            window.el("cred-url").await;
            return;
        }
    }
    panic!("no vault row named {name}");
}

async fn vault_names(window: &Window) -> Vec<String> {
    let mut names = Vec::new();
    for row in window.all("vault-row").await {
        names.push(row.text().await.unwrap_or_default());
    }
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn first_run_environments_credentials_and_no_token_leaks() {
    require_environment();
    let token = unique_token("right");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;

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
    window.fill("cred-url", "http://example.com/mcp").await;
    let url_error = window
        .wait_text("cred-url-error", |text| !text.is_empty())
        .await;
    assert!(url_error.contains("https"), "{url_error}");
    window.fill("cred-url", &server.url).await;
    window.click("cred-protocol-http").await;

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
    assert_eq!(
        window.value("cred-token").await,
        "",
        "token field cleared after save"
    );
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
        ipc.contains("RecoveryKeyReveal") && ipc.contains(&new_id),
        "the IPC trace holds every answer: {ipc}"
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
    window.wait_screen("main").await;

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
    window.fill("cred-url", "https://mcp.example.com/mcp").await;
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

/// Fills the New session form for a custom command and presses Start
/// (proxy mode unless `direct`).
async fn submit_custom_session(window: &Window, program: &str, args: &str, direct: bool) {
    window.click("session-new").await;
    window.click("session-agent-custom").await;
    window.fill("session-program", program).await;
    window.fill("session-args", args).await;
    window.click("session-vault").await;
    // The form shows which server the session will reach, and from which vault.
    let coverage = window
        .wait_text("session-coverage", |text| text.contains("127.0.0.1"))
        .await;
    assert!(coverage.contains("from Agent tools"), "{coverage}");
    window
        .fill("session-dir", &repo_root().display().to_string())
        .await;
    if direct {
        window.click("session-mode-direct").await;
    }
    window.click("session-start").await;
}

/// Starts a custom-command session and waits until its view shows.
async fn start_custom_session(window: &Window, program: &str, args: &str, direct: bool) {
    submit_custom_session(window, program, args, direct).await;
    window
        .wait_text("session-status", |text| !text.is_empty())
        .await;
}

/// A vault "Agent tools" with a credential for `server`.
async fn vault_with_credential(window: &Window, server: &McpServer, token: &str) {
    create_vault(window, "Agent tools").await;
    open_vault(window, "Agent tools").await;
    window.fill("cred-url", &server.url).await;
    window.click("cred-protocol-http").await;
    window.fill("cred-token", token).await;
    window.click("cred-save").await;
    window.el("cred-row").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_run_an_agent_in_a_terminal_through_the_proxy() {
    require_environment();
    let token = unique_token("session");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;
    vault_with_credential(&window, &server, &token).await;

    // A custom agent: its output reaches the terminal, Stop ends it.
    window.click("nav-sessions").await;
    window.el("session-form").await;
    window.click("session-mode-direct").await;
    let warning = window.text("session-direct-warning").await;
    assert!(warning.contains("read your tokens"), "{warning}");
    window.click("session-mode-proxy").await;
    start_custom_session(
        &window,
        "/bin/sh",
        r#"-c "echo agent-says-hello; test -s \"$KEYBEARER_MCP_CONFIG\" && echo config-written; read line; echo got:$line; sleep 600""#,
        false,
    )
    .await;
    let output = window
        .wait_text("session-terminal", |text| text.contains("config-written"))
        .await;
    assert!(output.contains("agent-says-hello"), "{output}");
    // Typing in the terminal reaches the agent.
    window
        .client
        .find(fantoccini::Locator::Css(
            "[data-testid=\"session-terminal\"] .xterm-helper-textarea",
        ))
        .await
        .expect("terminal input")
        .send_keys("typed-by-user\n")
        .await
        .expect("type into the terminal");
    window
        .wait_text("session-terminal", |text| {
            text.contains("got:typed-by-user")
        })
        .await;
    assert_eq!(
        window.wait_attr("session-status", "data-state").await,
        "running"
    );
    window.screenshot("11-session").await;
    window.click("session-stop").await;
    window
        .wait_text("session-status", |text| text.contains("stopped"))
        .await;
    assert_eq!(window.all("session-tab").await.len(), 1);

    // Proxy mode with a real MCP client: the call succeeds, no token in sight.
    let python = repo_root().join(".venv/bin/python");
    start_custom_session(
        &window,
        &python.display().to_string(),
        "tests/mcp-peers/client.py --config {mcp_config} --tool whoami",
        false,
    )
    .await;
    // whoami answers the SHA-256 of the token the server received: the
    // proxy added the real one although the agent never had it.
    let token_hash = sha256_hex(&token);
    let output = window
        .wait_text("session-terminal", |text| text.contains("\"ok\""))
        .await;
    let unwrapped = output.replace('\n', "");
    assert!(unwrapped.contains("\"ok\": true"), "{output}");
    assert!(unwrapped.contains(&token_hash), "{output}");
    window
        .wait_text("session-status", |text| text.contains("exited (0)"))
        .await;
    // The session view lists its server with the requests the proxy carried.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let row = window.el("session-server").await;
        let requests: u64 = row
            .attr("data-requests")
            .await
            .ok()
            .flatten()
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let status = row
            .attr("data-status")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        if requests > 0 && status.starts_with('2') {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server activity never showed: {requests} requests, status {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    window.screenshot("12-session-proxy").await;

    // Direct mode works too (the agent gets the token itself).
    start_custom_session(
        &window,
        &python.display().to_string(),
        "tests/mcp-peers/client.py --config {mcp_config} --tool whoami",
        true,
    )
    .await;
    let output = window
        .wait_text("session-terminal", |text| text.contains("\"ok\""))
        .await;
    assert!(output.replace('\n', "").contains(&token_hash), "{output}");
    window
        .wait_text("session-status", |text| text.contains("exited (0)"))
        .await;
    assert_eq!(window.all("session-tab").await.len(), 3);

    let page = window.page_source().await;
    assert!(!page.contains(&token), "token in the page");
    assert!(
        !window.ipc_answers().contains(&token),
        "token in an IPC answer"
    );
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminated_app_stops_its_sessions_and_removes_their_files() {
    require_environment();
    let token = unique_token("exit");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;
    vault_with_credential(&window, &server, &token).await;
    window.click("nav-sessions").await;
    start_custom_session(
        &window,
        "/bin/sh",
        r#"-c "echo pid=$$ cfg=$KEYBEARER_MCP_CONFIG; sleep 600""#,
        false,
    )
    .await;
    let output = window
        .wait_text("session-terminal", |text| text.contains("cfg=/"))
        .await;
    let field = |name: &str| {
        output
            .split(&format!("{name}="))
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{name} in {output:?}"))
            .to_string()
    };
    let (agent, config) = (field("pid"), field("cfg"));
    let alive = |pid: &str| std::path::Path::new(&format!("/proc/{pid}")).exists();
    let stat = std::fs::read_to_string(format!("/proc/{agent}/stat")).expect("agent stat");
    // The agent's parent is the app (field 4 of /proc/PID/stat).
    let app = stat
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.split_whitespace().nth(1))
        .expect("parent pid")
        .to_string();
    assert!(std::path::Path::new(&config).exists(), "{config}");

    // What a logout does: SIGTERM to the app (which this test started).
    let killed = Command::new("kill")
        .args(["-TERM", &app])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while alive(&agent) || std::path::Path::new(&config).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "after SIGTERM: agent alive {}, config {config} exists {}; app log:\n{}",
            alive(&agent),
            std::path::Path::new(&config).exists(),
            std::fs::read_to_string(data.path().join("keybearer.log")).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let log = std::fs::read_to_string(data.path().join("keybearer.log")).unwrap_or_default();
    assert!(log.contains("stopping sessions"), "{log}");
    window.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_production_session_is_confirmed_first() {
    require_environment();
    let token = unique_token("production");
    let server = McpServer::start("streamable_http", &token);
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch(data.path()).await;
    set_up(&window).await;
    window.select("env-switcher", "production").await;
    window
        .wait_text("env-label", |text| {
            text.to_uppercase().contains("PRODUCTION")
        })
        .await;
    window.el("env-band").await;
    window.el("empty-vaults").await;
    vault_with_credential(&window, &server, &token).await;
    window.click("nav-sessions").await;
    submit_custom_session(
        &window,
        "/bin/sh",
        r#"-c "echo prod-agent-ran; sleep 600""#,
        false,
    )
    .await;
    let dialog = window.text("confirm-dialog").await;
    assert!(dialog.contains("production"), "{dialog}");
    assert!(
        window.all("session-status").await.is_empty(),
        "started unconfirmed"
    );
    window.click("confirm-start").await;
    let output = window
        .wait_text("session-terminal", |text| text.contains("prod-agent-ran"))
        .await;
    assert!(output.contains("prod-agent-ran"));
    window.click("session-stop").await;
    window
        .wait_text("session-status", |text| text.contains("stopped"))
        .await;
    window.quit().await;
}
