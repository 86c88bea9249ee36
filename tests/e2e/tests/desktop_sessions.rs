//! Agent sessions in the desktop app's real window: an agent in a terminal
//! through the proxy, sessions stopped when the app is terminated, and the
//! confirmation before a production session. Each flow saves screenshots.

mod common;

use std::process::Command;

use common::{create_vault, open_vault, other_server_with_token, set_up, sha256_hex, unique_token};
use keybearer_e2e::{repo_root, require_environment, McpServer, Window};

/// Fills the New session form for a custom command and presses Start
/// (proxy mode unless `direct`).
/// `sandbox: false` unticks the sandbox (the form then warns): for tests
/// that look at the agent's process from outside, which a sandbox's PID
/// namespace hides on purpose.
async fn submit_custom_session(
    window: &Window,
    program: &str,
    args: &str,
    direct: bool,
    sandbox: bool,
) {
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
    if !sandbox {
        window.click("session-sandbox").await;
        window.el("session-no-sandbox-warning").await;
    }
    window.click("session-start").await;
    if direct {
        // Direct mode hands the tokens over: the form asks to confirm.
        let confirm = window.text("session-direct-confirm").await;
        assert!(confirm.contains("read"), "{confirm}");
        window.click("confirm-start").await;
    }
}

/// Starts a custom-command session and waits until its view shows.
async fn start_custom_session(
    window: &Window,
    program: &str,
    args: &str,
    direct: bool,
    sandbox: bool,
) {
    submit_custom_session(window, program, args, direct, sandbox).await;
    window
        .wait_text("session-status", |text| !text.is_empty())
        .await;
}

/// A vault "Agent tools" with a credential for `server`.
async fn vault_with_credential(window: &Window, server: &McpServer, token: &str) {
    create_vault(window, "Agent tools").await;
    open_vault(window, "Agent tools").await;
    other_server_with_token(window, &server.url).await;
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
        true,
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
        true,
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
    assert!(
        app.parse::<u32>().is_ok_and(|pid| pid > 1),
        "the app's pid looks wrong: {app}"
    );

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
        true,
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
