//! The OAuth desktop tests' peer and checks: the test authorization server
//! and its protected MCP server (tests/oauth-peer/server.py, which approves
//! every sign-in at once), its switches (`POST /test/config`) and counters
//! (`GET /test/stats`), signing in through the add-credential form with the
//! debug build's test opener, and the check that no access or refresh token
//! of the peer's shape is in a text.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keybearer_e2e::{repo_root, Guard, Window};

/// The test authorization server and its protected MCP server.
pub struct OAuthPeer {
    pub url: String,
    pub base: String,
    _process: Guard,
}

impl OAuthPeer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Started with these extra arguments (`--access-token-lifetime 5`, …).
    pub fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new(repo_root().join(".venv/bin/python"))
            .arg(repo_root().join("tests/oauth-peer/server.py"))
            .args(["--port", "0"])
            .args(args)
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
    pub fn stats(&self) -> serde_json::Value {
        self.request("GET", "/test/stats", None)
    }

    /// Changes the peer's switches (`POST /test/config`), e.g.
    /// `{"fail_refresh": true}`; answers the switches now in force.
    pub fn config(&self, changes: serde_json::Value) -> serde_json::Value {
        let switches = self.request("POST", "/test/config", Some(&changes));
        for (name, value) in changes.as_object().expect("an object of switches") {
            assert_eq!(&switches[name], value, "the peer took {name}: {switches}");
        }
        switches
    }

    /// A client made at the peer "by hand", as a user makes an OAuth app at
    /// GitHub: its id and secret (`client_secret_post`).
    pub fn users_app(&self) -> (String, String) {
        let client = self.request(
            "POST",
            "/register",
            Some(&serde_json::json!({
                "client_name": "made by the user",
                "redirect_uris": ["http://127.0.0.1/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post",
            })),
        );
        let text = |key: &str| client[key].as_str().expect(key).to_string();
        (text("client_id"), text("client_secret"))
    }

    /// One HTTP/1.0 request to the peer's test endpoints; the JSON answer.
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        let authority = self.base.trim_start_matches("http://");
        let body = body.map(ToString::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(authority).expect("connect to the peer");
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send to the peer");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("the peer's answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a body");
        assert!(
            head.contains(" 200 ") || head.contains(" 201 "),
            "{method} {path}: {head}\n{body}"
        );
        serde_json::from_str(body).expect("JSON answer")
    }
}

/// Whether `text` holds something shaped like the peer's tokens: `at_` or
/// `rt_` and then 43 URL-safe base64 characters (`secrets.token_urlsafe(32)`).
pub fn holds_peer_token(text: &[u8]) -> bool {
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

/// No peer token in the page, in any IPC answer the app sent, or in any
/// file of the data folder (database, WAL, log).
pub async fn assert_no_peer_token(window: &Window) {
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
    for entry in std::fs::read_dir(&window.data_dir).expect("data folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read a data file");
            assert!(!holds_peer_token(&bytes), "a token in {}", path.display());
        }
    }
}

/// Waits until `testid`'s `data-outcome` is `expected` (a connection test).
pub async fn wait_outcome(window: &Window, testid: &str, expected: &str) {
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

/// Signs in to `peer` through the open vault's add-credential form ("Sign
/// in (OAuth)", scope `mcp`); returns once the credential's row shows.
pub async fn sign_in_through_form(window: &Window, peer: &OAuthPeer) {
    super::other_server(window).await;
    window.fill("cred-url", &peer.url).await;
    super::advanced(window).await;
    window.click("cred-protocol-http").await;
    window.click("cred-kind-oauth").await;
    window.fill("cred-oauth-scope", "mcp").await;
    window.click("cred-sign-in").await;
    window.el("cred-row").await;
    window
        .wait_text("cred-type", |text| text == "Signed in (OAuth)")
        .await;
}
