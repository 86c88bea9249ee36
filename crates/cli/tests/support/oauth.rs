//! Shared by the CLI's OAuth test files: the OAuth test peer
//! (`tests/oauth-peer/server.py`, an authorization server and a
//! token-protected MCP server on the official Python SDK) and a run of a
//! command that signs in, with the browser played by curl.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr, Command, Stdio};

use serde_json::Value;

use super::session::{repo_root, venv_python, Home};

pub struct Peer {
    pub url: String,
    pub base: String,
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the peer with access tokens living `lifetime` seconds, and `args`
/// (its switches, README.md there).
pub fn start_peer(lifetime: &str, args: &[&str]) -> Peer {
    let mut child = Command::new(venv_python())
        .arg(repo_root().join("tests/oauth-peer/server.py"))
        .args(["--port", "0", "--access-token-lifetime", lifetime])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("oauth peer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let value: Value = serde_json::from_str(&line).expect("json");
    Peer {
        url: value["url"].as_str().expect("url").to_string(),
        base: value["base"].as_str().expect("base").to_string(),
        child,
    }
}

impl Peer {
    /// `GET <path>` on the peer, as JSON.
    pub fn get(&self, path: &str) -> Value {
        let output = Command::new("curl")
            .args(["-s", &format!("{}{path}", self.base)])
            .output()
            .expect("curl");
        serde_json::from_slice(&output.stdout).expect(path)
    }

    /// `GET /test/stats`.
    pub fn stats(&self) -> Value {
        self.get("/test/stats")
    }

    pub fn stat(&self, name: &str) -> u64 {
        self.stats()[name].as_u64().unwrap_or(0)
    }

    /// `POST /test/config`.
    pub fn config(&self, changes: &str) {
        let output = Command::new("curl")
            .args([
                "-s",
                "-f",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
            ])
            .args(["-d", changes, &format!("{}/test/config", self.base)])
            .output()
            .expect("curl");
        assert!(output.status.success(), "config {changes}");
    }

    /// A client made at the peer "by hand" (a user's OAuth app): its id and
    /// secret (`client_secret_post`).
    pub fn users_app(&self) -> (String, String) {
        let metadata = r#"{"client_name":"made by the user","redirect_uris":["http://127.0.0.1/callback"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"client_secret_post"}"#;
        let output = Command::new("curl")
            .args([
                "-s",
                "-f",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
            ])
            .args(["-d", metadata, &format!("{}/register", self.base)])
            .output()
            .expect("curl");
        let client: Value = serde_json::from_slice(&output.stdout).expect("client JSON");
        let text = |key: &str| client[key].as_str().expect(key).to_string();
        (text("client_id"), text("client_secret"))
    }

    /// Every token and client secret the peer handed out (`/test/issued`),
    /// or every token revoked (`/test/revoked`).
    pub fn tokens(&self, path: &str) -> Vec<String> {
        self.get(path)["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .filter_map(|token| token.as_str().map(str::to_string))
            .collect()
    }

    pub fn issued(&self) -> Vec<String> {
        self.tokens("/test/issued")
    }

    /// Whether `token` (an access token) opens the MCP endpoint.
    pub fn accepts(&self, token: &str) -> bool {
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/json"])
            .args(["-H", "Accept: application/json, text/event-stream"])
            .args([
                "-d",
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
                &self.url,
            ])
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout) == "200"
    }
}

/// A command that signs in, up to the sign-in address it printed.
pub struct Signing {
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
    shown: Vec<String>,
    /// The start page on 127.0.0.1 the CLI printed.
    pub start: String,
}

/// What a command that signed in ended with.
pub struct SignedIn {
    /// Its answer on stdout (JSON with `--json`), when it succeeded.
    pub answer: Option<Value>,
    pub code: i32,
    pub stderr: String,
    /// The authorization address the start page sent the browser to.
    pub address: String,
}

/// Runs `args` (a command that signs in) until it prints the sign-in's
/// address: the first https? line on stderr (there is no opener on this
/// PATH, so it is printed).
pub fn start_signing_in(h: &Home, args: &[&str]) -> Signing {
    start_signing_in_with(h, args, None)
}

/// As [`start_signing_in`], with `stdin` written to the command first (a
/// client secret, read like a token).
pub fn start_signing_in_with(h: &Home, args: &[&str], stdin: Option<&str>) -> Signing {
    let mut child = h
        .command(args)
        .env("PATH", "/usr/bin:/bin") // no xdg-open here: the address is printed
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keybearer");
    if let Some(text) = stdin {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut shown = Vec::new();
    let start = loop {
        let line = match lines.next() {
            Some(line) => line.expect("line"),
            None => {
                let _ = child.kill();
                panic!("no sign-in address: {shown:?}");
            }
        };
        let trimmed = line.trim().to_string();
        shown.push(line);
        if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
            break trimmed;
        }
    };
    assert!(
        start.starts_with("http://127.0.0.1:") && start.contains("/start/"),
        "{start}"
    );
    Signing {
        child,
        lines,
        shown,
        start,
    }
}

impl Signing {
    /// Waits for the command once the browser's part was played by the
    /// caller: its status, stdout and stderr.
    pub fn wait(mut self) -> (Option<i32>, String, String) {
        self.shown.extend(self.lines.by_ref().map_while(Result::ok));
        let output = self.child.wait_with_output().expect("wait");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            self.shown.join("\n"),
        )
    }

    /// Plays the browser: the start page's redirect is followed to the
    /// service, which approves at once and sends the browser back to
    /// Keybearer's listener. Then waits for the command.
    pub fn browse(mut self) -> SignedIn {
        let started = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{redirect_url}",
                &self.start,
            ])
            .output()
            .expect("curl");
        let address = String::from_utf8_lossy(&started.stdout).into_owned();
        assert!(address.contains("/authorize?"), "{address}");
        let followed = Command::new("curl")
            .args(["-s", "-L", "--max-time", "30", &address])
            .output()
            .expect("curl");
        assert!(
            String::from_utf8_lossy(&followed.stdout).contains("Signed in"),
            "the browser came back to Keybearer"
        );
        self.shown.extend(self.lines.by_ref().map_while(Result::ok));
        let output = self.child.wait_with_output().expect("wait");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = self.shown.join("\n");
        assert_shows_no_sign_in_secret(&address, &[&stderr, &stdout]);
        SignedIn {
            answer: serde_json::from_slice(&output.stdout).ok(),
            code: output.status.code().unwrap_or(-1),
            stderr,
            address,
        }
    }
}

/// Runs a command that signs in and plays the browser; it must succeed.
/// Its JSON answer and the authorization address.
pub fn signing_in(h: &Home, args: &[&str]) -> (Value, String) {
    let signed = start_signing_in(h, args).browse();
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    (signed.answer.expect("json"), signed.address)
}

/// Neither the `state` nor the PKCE challenge of `authorization` is in any
/// of `texts` (what the CLI printed, what another program could read).
pub fn assert_shows_no_sign_in_secret(authorization: &str, texts: &[&str]) {
    let query = |name: &str| {
        url_value(authorization, name).unwrap_or_else(|| panic!("no {name} in {authorization}"))
    };
    for (name, secret) in [
        ("state", query("state")),
        ("code_challenge", query("code_challenge")),
    ] {
        assert!(secret.len() >= 32, "{name}: {secret}");
        for text in texts {
            assert!(!text.contains(&secret), "the sign-in's {name} was shown");
        }
    }
}

/// `name`'s value in `address`'s query, as written (the values looked up
/// here are base64url or plain words: nothing to decode).
pub fn url_value(address: &str, name: &str) -> Option<String> {
    let query = address.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_string())
    })
}
