//! OAuth sign-in in the desktop app's real window, against the test
//! authorization server (tests/oauth-peer, which approves at once): the
//! add-credential form's "Sign in (OAuth)" kind, the wait for the browser
//! (here the debug build's test opener, `KEYBEARER_TEST_OPENER=follow`,
//! which follows the authorization address as a browser would), the saved
//! credential shown as signed in, and a test of it that the server accepts.
//! No access or refresh token is in the page, an IPC answer or a data file.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{create_vault, open_vault, set_up};
use keybearer_e2e::{repo_root, require_environment, Guard, Window};

/// The test authorization server and its protected MCP server.
struct OAuthPeer {
    url: String,
    base: String,
    _process: Guard,
}

impl OAuthPeer {
    fn start() -> Self {
        let mut child = Command::new(repo_root().join(".venv/bin/python"))
            .arg(repo_root().join("tests/oauth-peer/server.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the OAuth test peer");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the peer announces its URL");
        let announced: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        Self {
            url: announced["url"].as_str().expect("url").to_string(),
            base: announced["base"].as_str().expect("base").to_string(),
            _process: Guard(child),
        }
    }

    /// The peer's counters (`GET /test/stats`).
    fn stats(&self) -> serde_json::Value {
        let authority = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(authority).expect("connect to the peer");
        write!(
            stream,
            "GET /test/stats HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )
        .expect("ask for stats");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("stats answer");
        let body = answer.split("\r\n\r\n").nth(1).expect("a body");
        serde_json::from_str(body).expect("stats JSON")
    }
}

/// Whether `text` holds something shaped like the peer's tokens: `at_` or
/// `rt_` and then 43 URL-safe base64 characters (`secrets.token_urlsafe(32)`).
fn holds_peer_token(text: &[u8]) -> bool {
    let url_safe = |byte: &u8| byte.is_ascii_alphanumeric() || *byte == b'-' || *byte == b'_';
    text.windows(3).enumerate().any(|(at, prefix)| {
        (prefix == b"at_" || prefix == b"rt_")
            && text[at + 3..]
                .iter()
                .take_while(|byte| url_safe(byte))
                .count()
                >= 40
    })
}

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

#[test]
fn the_token_shape_check_finds_the_peers_tokens() {
    assert!(holds_peer_token(
        b"x at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG y"
    ));
    assert!(holds_peer_token(
        b"\"rt_-_0123456789abcdefghijklmnopqrstuvwxyzABCDE\""
    ));
    assert!(!holds_peer_token(b"format_version at_least rt_short"));
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_through_the_form_saves_a_credential_the_server_accepts() {
    require_environment();
    let peer = OAuthPeer::start();
    let data = tempfile::tempdir().expect("data dir");
    let window = Window::launch_with_env(data.path(), &[("KEYBEARER_TEST_OPENER", "follow")]).await;
    set_up(&window).await;
    create_vault(&window, "Signed in").await;
    open_vault(&window, "Signed in").await;

    // The fourth kind: no secret to paste, an optional client ID and scopes.
    window.fill("cred-url", &peer.url).await;
    window.click("cred-protocol-http").await;
    window.click("cred-kind-oauth").await;
    assert!(window.all("cred-token").await.is_empty());
    assert!(window.all("cred-test").await.is_empty());
    assert_eq!(window.value("cred-oauth-client-id").await, "");
    window.fill("cred-oauth-scope", "mcp").await;
    window.click("cred-sign-in").await;

    // The browser (the test opener) comes back; the credential is saved.
    let row = window.el("cred-row").await;
    let kind = window.wait_text("cred-type", |text| !text.is_empty()).await;
    assert_eq!(kind, "Signed in (OAuth)");
    assert!(window.all("cred-needs-sign-in").await.is_empty());
    assert!(
        row.text().await.unwrap_or_default().contains(&peer.url),
        "the row names the server"
    );
    window
        .wait_text("screen-main", |text| text.contains("Signed in to"))
        .await;
    let stats = peer.stats();
    assert_eq!(stats["authorizations"], 1, "{stats}");
    assert_eq!(stats["code_exchanges"], 1, "{stats}");

    // The saved credential works: the server takes its access token.
    window.click("cred-row-test").await;
    wait_outcome(&window, "cred-row-test-result", "ok").await;
    window
        .client
        .execute(
            "document.querySelector('[data-testid=\"cred-row\"]').scrollIntoView({block: 'start'}); window.scrollBy(0, -120)",
            vec![],
        )
        .await
        .expect("scroll");
    window.screenshot("20-sign-in").await;

    // No token is anywhere the window or the disk can show it.
    let page = window.page_source().await;
    assert!(!holds_peer_token(page.as_bytes()), "a token is in the page");
    let answers = window.ipc_answers();
    assert!(
        answers.contains("mcp_oauth"),
        "the trace recorded the answers"
    );
    assert!(
        !holds_peer_token(answers.as_bytes()),
        "a token is in an IPC answer"
    );
    for entry in std::fs::read_dir(data.path()).expect("data folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read a data file");
            assert!(!holds_peer_token(&bytes), "a token in {}", path.display());
        }
    }
    window.quit().await;
}
