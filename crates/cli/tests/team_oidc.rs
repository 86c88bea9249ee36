//! `keybearer team sign-in SERVER --oidc` against a real OpenBao
//! (`bao server -dev`) whose `oidc` auth method trusts a real OpenID
//! Connect provider (the certified `oidc-provider`, tests/oidc-peer), its
//! login and consent pages driven over HTTP as a browser would: the token
//! reaches the keychain and works; a callback without the sign-in's
//! `state` is ignored; a second visit to the start page stops the
//! sign-in; a role that does not allow this computer's address is told;
//! neither the state nor the code is shown or kept.
#![cfg(unix)]

#[path = "../../team/tests/support/bao.rs"]
mod bao;
#[path = "support/team_member.rs"]
mod member;
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bao::Bao;
use http::Method;
use serde_json::json;
use support::oauth::{start_signing_in, url_value};

/// The OIDC provider (node tests/oidc-peer/provider.mjs), stopped on drop.
struct Provider {
    issuer: String,
    child: Child,
    /// Kept open: the provider writes notes there (a closed pipe ends it).
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-peer")
}

fn start_provider(redirect_uri: &str, client_secret: &str) -> Provider {
    assert!(
        peer_dir().join("node_modules/oidc-provider").exists(),
        "run scripts/install-deps.sh test (npm ci --prefix tests/oidc-peer)"
    );
    let mut child = Command::new("node")
        .arg(peer_dir().join("provider.mjs"))
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
fn browse(jar: &std::path::Path, args: &[&str]) -> (String, String) {
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

/// The first form's `action` in `page` (the provider's pages name it in full).
fn form_action(page: &str) -> String {
    let start = page
        .find("action=\"")
        .unwrap_or_else(|| panic!("no form in {page}"))
        + "action=\"".len();
    let end = start + page[start..].find('"').expect("action's end");
    page[start..end].to_string()
}

#[test]
fn signing_in_with_oidc_through_a_real_identity_provider() {
    let mut bao = Bao::start();
    let port = free_port();
    let redirect_uri = format!("http://127.0.0.1:{port}/oidc/callback");
    let client_secret = support::session::token("oidc-client");
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

    let h = member::with_server(&bao);
    // A role that does not allow this computer's address: told what to ask
    // for, nothing opened.
    bao.root(
        Method::POST,
        "auth/oidc/role/elsewhere",
        json!({
            "role_type": "oidc",
            "user_claim": "sub",
            "allowed_redirect_uris": ["https://app.example.com/oidc/callback"],
            "token_policies": ["member-rw"],
        }),
    );
    h.run(
        &[
            "team",
            "sign-in",
            "acme",
            "--oidc",
            "--role",
            "elsewhere",
            "--port",
            &free_port().to_string(),
        ],
        "",
    )
    .fails_with(2, "allowed_redirect_uris");

    let signing = start_signing_in(
        &h,
        &[
            "--json",
            "team",
            "sign-in",
            "acme",
            "--oidc",
            "--role",
            "member",
            "--port",
            &port.to_string(),
        ],
    );
    let jar = tempfile::NamedTempFile::new().expect("jar");
    // The start page sends the browser on to the identity provider.
    let started = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{redirect_url}",
            &signing.start,
        ])
        .output()
        .expect("curl");
    let address = String::from_utf8_lossy(&started.stdout).into_owned();
    assert!(address.starts_with(&provider.issuer), "{address}");
    let state = url_value(&address, "state").expect("state");
    // A forged answer (no, or another, state) is ignored: the wait goes on.
    let forged = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{redirect_uri}?state=forged&code=stolen"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&forged.stdout), "400");
    // The provider's login page, then its consent page, as a person would.
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
    assert!(back.starts_with(&redirect_uri), "{back}");
    let code = url_value(&back, "code").expect("code");

    let (status, stdout, stderr) = signing.wait();
    assert_eq!(status, Some(0), "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let who = answer["signed_in_as"].as_str().expect("who");
    assert!(who.starts_with("oidc-"), "{answer}");

    // The sign-in works: a team vault is made with it.
    h.run(
        &[
            "vault",
            "create",
            "Shared",
            "--team",
            "acme",
            "--env",
            "development",
        ],
        "",
    )
    .code(0);
    let listed = h.run(&["--json", "team", "list"], "").code(0).json();
    assert!(listed.to_string().contains(who), "{listed}");

    // Something besides the browser opening the start page first stops the
    // sign-in (it may have read the state); the saved sign-in stays.
    let raced = start_signing_in(
        &h,
        &[
            "team",
            "sign-in",
            "acme",
            "--oidc",
            "--port",
            &port.to_string(),
        ],
    );
    for _ in 0..2 {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", &raced.start])
            .status()
            .expect("curl");
    }
    let (status, _, raced_stderr) = raced.wait();
    assert_ne!(status, Some(0), "{raced_stderr}");
    assert!(
        raced_stderr.contains("Another program on this computer opened the sign-in page"),
        "{raced_stderr}"
    );
    h.run(&["credential", "list", "--vault", "Shared"], "")
        .code(0);

    for secret in [&state, &code] {
        assert!(!stdout.contains(secret.as_str()), "shown on stdout");
        assert!(!stderr.contains(secret.as_str()), "shown on stderr");
        h.assert_nowhere(secret);
    }
    bao.stop();
}
