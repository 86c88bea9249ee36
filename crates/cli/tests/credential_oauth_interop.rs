//! `keybearer credential add --oauth` against authorization servers set up
//! the way common ones are (switches of `tests/oauth-peer`): one that gives
//! a refresh token only for `offline_access` asked with `prompt=consent`
//! (oidc-provider's default); a second OAuth credential for an address the
//! vault already has; and a grant that could not be saved after the browser
//! came back, which must not stay alive at the service.

#![cfg(unix)]

mod support;

use support::oauth::{signing_in, start_peer, start_signing_in, url_value};
use support::session::Home;

const ADD: [&str; 5] = ["--json", "credential", "add", "--vault", "Work"];

fn add_oauth<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = ADD.to_vec();
    args.extend(["--url", url, "--oauth"]);
    args.extend(extra);
    args
}

/// A service that lists `offline_access` gets it asked for, with
/// `prompt=consent`, and gives a refresh token: the CLI says the sign-in is
/// kept fresh. One that does not list it gives none, and the CLI says
/// plainly that the sign-in ends with the access token, and when.
#[test]
fn the_cli_says_whether_the_sign_in_can_be_renewed() {
    let h = Home::new();
    h.vault("Work", "development");

    let oidc = start_peer(
        "600",
        &[
            "--scopes-supported",
            "mcp admin offline_access",
            "--refresh-only-with-offline-access",
        ],
    );
    let signed = start_signing_in(&h, &add_oauth(&oidc.url, &[])).browse();
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert_eq!(
        url_value(&signed.address, "scope").as_deref(),
        Some("mcp+offline_access")
    );
    assert_eq!(
        url_value(&signed.address, "prompt").as_deref(),
        Some("consent")
    );
    assert!(
        signed.stderr.contains("keeps this sign-in fresh"),
        "{}",
        signed.stderr
    );
    let authorizations = oidc.get("/test/authorizations");
    assert_eq!(
        authorizations["authorizations"][0]["prompt"], "consent",
        "{authorizations}"
    );

    // The same kind of service, not listing offline_access: no refresh token.
    let strict = start_peer("600", &["--refresh-only-with-offline-access"]);
    let signed = start_signing_in(&h, &add_oauth(&strict.url, &[])).browse();
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    assert!(url_value(&signed.address, "prompt").is_none());
    assert!(
        !signed.stderr.contains("fresh"),
        "a promise the service does not keep: {}",
        signed.stderr
    );
    assert!(
        signed.stderr.contains("no way to renew the sign-in")
            && signed
                .stderr
                .contains("sign in again when it expires (in 10 minutes)"),
        "{}",
        signed.stderr
    );
    // It was saved all the same: it works until it expires.
    assert_eq!(signed.answer.expect("json")["type"], "mcp_oauth");
}

/// A second OAuth credential for an address the vault already has is
/// refused before anything starts: no address printed, no browser, nothing
/// registered or authorized at the service.
#[test]
fn a_duplicate_address_is_refused_before_the_browser_opens() {
    let h = Home::new();
    let peer = start_peer("600", &[]);
    h.vault("Work", "development");
    let (added, _) = signing_in(&h, &add_oauth(&peer.url, &[]));
    assert_eq!(added["type"], "mcp_oauth");
    let before = peer.stats();

    // Run with a deadline: the old behaviour waits for a browser.
    let child = h
        .command(&add_oauth(&peer.url, &[]))
        .env("PATH", "/usr/bin:/bin")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("keybearer");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    let output = match receiver.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(output) => output.expect("wait"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("the second add started a sign-in and waited for the browser");
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("already has a credential for"), "{stderr}");
    assert!(!stderr.contains("/start/"), "no sign-in address: {stderr}");
    let after = peer.stats();
    for counter in ["registrations", "authorizations", "code_exchanges"] {
        assert_eq!(after[counter], before[counter], "{counter}: {after}");
    }
}

/// The vault got a credential for the address while the browser was open
/// (another `credential add`): the sign-in finishes, the add is refused as
/// a duplicate, and the grant it obtained is revoked at the service.
#[test]
fn a_sign_in_that_cannot_be_saved_is_revoked_at_the_service() {
    let h = Home::new();
    let peer = start_peer("600", &[]);
    h.vault("Work", "development");

    let signing = start_signing_in(&h, &add_oauth(&peer.url, &[]));
    h.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &peer.url,
            "--token",
        ],
        "tok_added_meanwhile_0123456789\n",
    )
    .code(0);
    let signed = signing.browse();
    assert_ne!(signed.code, 0, "{}", signed.stderr);
    assert!(
        signed.stderr.contains("already has a credential for"),
        "{}",
        signed.stderr
    );

    // The grant the sign-in got: both its tokens revoked, the access token refused.
    let issued = peer.issued();
    let access = issued
        .iter()
        .rev()
        .find(|token| token.starts_with("at_"))
        .expect("an access token");
    let refresh = issued
        .iter()
        .rev()
        .find(|token| token.starts_with("rt_"))
        .expect("a refresh token");
    let revoked = peer.tokens("/test/revoked");
    assert!(
        revoked.contains(refresh),
        "the refresh token is revoked: {revoked:?}"
    );
    assert!(!peer.accepts(access), "the access token no longer works");
    h.assert_nowhere(access);
    h.assert_nowhere(refresh);
}
