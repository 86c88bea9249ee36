//! Your organisation's sign-in to a team server, in the real window: a
//! real OpenBao (`bao server -dev`) whose `oidc` auth method trusts a real
//! OpenID Connect provider (the certified `oidc-provider`,
//! tests/oidc-peer), as crates/cli/tests/team_oidc.rs sets them up. The
//! app's browser opener is replaced (debug builds, `KEYBEARER_TEST_OPENER=
//! record`) by one that writes the start page's address to a file; the
//! test is the browser, driving the provider's login and consent pages
//! with curl. The page only waits: a first sign-in is cancelled from it
//! (said so, nothing kept), the second signs in. Neither the state nor the
//! code is in the page, an IPC answer or the data folder.
#![cfg(unix)]

#[path = "../../../crates/team/tests/support/bao.rs"]
mod bao;
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::set_up;
use http::Method;
use keybearer_e2e::{files_containing, repo_root, require_environment, Window};
use serde_json::json;

/// The OIDC provider (node tests/oidc-peer/provider.mjs), stopped on drop.
struct Provider {
    issuer: String,
    child: Child,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_provider(redirect_uri: &str, client_secret: &str) -> Provider {
    let peer = repo_root().join("tests/oidc-peer");
    assert!(
        peer.join("node_modules/oidc-provider").exists(),
        "run scripts/install-deps.sh test (npm ci --prefix tests/oidc-peer)"
    );
    let mut child = Command::new("node")
        .arg(peer.join("provider.mjs"))
        .env("OIDC_REDIRECT_URI", redirect_uri)
        .env("OIDC_CLIENT_SECRET", client_secret)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut line).expect("ready line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("ready json");
    Provider {
        issuer: ready["issuer"].as_str().expect("issuer").to_string(),
        child,
        _stdout: stdout,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// curl with a cookie jar (the browser): the page's body and the address
/// it ended at.
fn browse(jar: &Path, args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["-s", "-L", "--max-time", "30", "-c"])
        .arg(jar)
        .arg("-b")
        .arg(jar)
        .args(["-w", "\n%{url_effective}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, at) = text.rsplit_once('\n').expect("url_effective");
    (body.to_string(), at.to_string())
}

/// The first form's `action` in `page`.
fn form_action(page: &str) -> String {
    let start = page
        .find("action=\"")
        .unwrap_or_else(|| panic!("no form in {page}"))
        + "action=\"".len();
    let end = start + page[start..].find('"').expect("action's end");
    page[start..end].to_string()
}

/// A query parameter's raw value.
fn query_value(address: &str, name: &str) -> Option<String> {
    let (_, query) = address.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

/// The `n`th address the app's opener was given (1-based), waited for.
fn opened(file: &Path, n: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if let Some(line) = text.lines().nth(n - 1) {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "the app opened no browser");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_with_the_organisations_sign_in_in_the_window() {
    require_environment();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut bao = bao::Bao::start();
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/oidc/callback");
    let client_secret = common::unique_token("oidc-client");
    let provider = start_provider(&redirect_uri, &client_secret);
    // What the team's administrator sets up (docs/team-policies/oidc.md).
    bao.root(Method::POST, "sys/auth/oidc", json!({"type": "oidc"}));
    bao.root(
        Method::POST,
        "auth/oidc/config",
        json!({
            "oidc_discovery_url": provider.issuer,
            "oidc_client_id": "openbao",
            "oidc_client_secret": client_secret,
            "default_role": "member",
        }),
    );
    bao.root(
        Method::POST,
        "auth/oidc/role/member",
        json!({
            "role_type": "oidc",
            "user_claim": "sub",
            "bound_audiences": ["openbao"],
            "allowed_redirect_uris": [redirect_uri],
            "token_policies": ["member-rw"],
            "token_ttl": "1h",
        }),
    );
    let data = tempfile::tempdir().expect("data dir");
    let opener_dir = tempfile::tempdir().expect("opener dir");
    let opener_file: PathBuf = opener_dir.path().join("opened");
    let window = Window::launch_with_env(
        data.path(),
        &[
            ("KEYBEARER_TEST_OPENER", "record"),
            (
                "KEYBEARER_TEST_OPENER_FILE",
                opener_file.to_str().expect("path"),
            ),
        ],
    )
    .await;
    set_up(&window).await;
    window.click("nav-settings").await;
    window.click("team-add-open").await;
    window.fill("team-address", &bao.address).await;
    window.fill("team-name", "acme").await;
    window.fill("team-mount", bao::MOUNT).await;
    window.click("team-add-submit").await;
    window
        .wait_text("team-server-state", |state| state == "Not signed in")
        .await;

    // The organisation's sign-in: the page waits, and can stop waiting.
    window.click("team-sign-in-open").await;
    window.click("team-way-oidc").await;
    window.fill("team-oidc-role", "member").await;
    window.fill("team-oidc-port", &port.to_string()).await;
    window.click("team-sign-in-submit").await;
    window.el("team-oidc-waiting").await;
    let first = opened(&opener_file, 1);
    assert!(
        first.starts_with("http://127.0.0.1:") && first.contains("/start/"),
        "{first}"
    );
    window.screenshot("team-oidc-waiting").await;
    window.click("team-oidc-cancel").await;
    let said = window
        .wait_text("team-sign-in-error", |text| !text.is_empty())
        .await;
    assert!(said.contains("cancelled"), "{said}");

    // Again, and this time the browser signs in.
    window.click("team-sign-in-submit").await;
    window.el("team-oidc-waiting").await;
    let start = opened(&opener_file, 2);
    let jar = tempfile::NamedTempFile::new().expect("jar");
    let started = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{redirect_url}", &start])
        .output()
        .expect("curl");
    let address = String::from_utf8_lossy(&started.stdout).into_owned();
    assert!(address.starts_with(&provider.issuer), "{address}");
    let state = query_value(&address, "state").expect("state");
    let (login, at) = browse(jar.path(), &[&address]);
    assert!(at.contains("/interaction/"), "{at}\n{login}");
    let (consent, consent_at) = browse(
        jar.path(),
        &[
            "-d",
            "prompt=login",
            "-d",
            "login=alice",
            "-d",
            "password=anything",
            &form_action(&login),
        ],
    );
    assert!(consent.contains("action="), "{consent_at}\n{consent}");
    let (done, back) = browse(
        jar.path(),
        &["-d", "prompt=consent", &form_action(&consent)],
    );
    assert!(done.contains("Signed in"), "{back}\n{done}");
    let code = query_value(&back, "code").expect("code");
    let signed_in = window
        .wait_text("team-server-state", |text| text.starts_with("Signed in as"))
        .await;
    assert!(signed_in.contains("oidc-"), "{signed_in}");
    window.screenshot("team-oidc-signed-in").await;

    let page = window.page_source().await;
    let answers = window.ipc_answers();
    for secret in [state.as_str(), code.as_str(), client_secret.as_str()] {
        assert!(!page.contains(secret), "a secret in the page");
        assert!(!answers.contains(secret), "a secret in an IPC answer");
        assert!(
            files_containing(data.path(), secret.as_bytes()).is_empty(),
            "a secret in the data folder"
        );
    }
    window.quit().await;
    bao.stop();
}
