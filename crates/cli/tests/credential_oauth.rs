//! `keybearer credential add --oauth` as a user runs it, against the real
//! test authorization server (official Python SDK, `tests/oauth-peer`):
//! the CLI prints the sign-in address, a "browser" follows it, the grant is
//! sealed; an app's bridge then reaches the server with it across several
//! expiries (the grant refreshed and stored by the bridge's processes);
//! no token the service issued is in the data folder, the output or the
//! app's settings; deleting the credential revokes the grant at the service;
//! a process killed right after a refresh loses nothing. And the API
//! parity path: an `mcp_oauth` credential given as JSON on stdin.

#![cfg(unix)]

mod support;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

#[cfg(target_os = "linux")]
use serde_json::Value;
use support::apps::{entry_for, python_client};
#[cfg(target_os = "linux")]
use support::oauth::assert_shows_no_sign_in_secret;
use support::oauth::{signing_in, start_peer};
use support::session::Home;

/// Runs `credential add --oauth` and plays the browser; the new id.
fn add_with_sign_in(h: &Home, url: &str) -> String {
    let (added, _) = signing_in(
        h,
        &[
            "--json",
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            url,
            "--oauth",
        ],
    );
    assert_eq!(added["type"], "mcp_oauth");
    added["id"].as_str().expect("id").to_string()
}

#[test]
fn sign_in_from_the_cli_then_a_bridge_across_expiries_then_revocation() {
    let h = Home::new();
    let peer = start_peer("2", &[]);
    h.vault("Work", "development");
    let id = add_with_sign_in(&h, &peer.url);
    let listed = h.run(&["credential", "list", "--vault", "Work"], "").ok();
    assert!(listed.stdout.contains("oauth"), "{}", listed.stdout);

    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    let entries = h.claude_code_entries();
    let entry = entry_for(&entries, &peer.url);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let run = python_client(entry, &["--tool", "whoami"]);
        assert!(run.ok, "{} {}", run.answer, run.stderr);
        seen.insert(
            run.answer["result"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        std::thread::sleep(Duration::from_millis(2200));
    }
    assert!(seen.len() >= 2, "renewed between calls: {seen:?}");
    assert!(peer.stats()["refreshes"].as_u64().unwrap_or(0) >= 2);
    let events = h
        .run(&["--json", "events", "--limit", "100"], "")
        .ok()
        .json();
    assert!(events
        .as_array()
        .expect("events")
        .iter()
        .any(|e| e["kind"] == "credential.refreshed"));

    // A tool that needs more than was granted: the app hears what to do.
    let admin = python_client(entry, &["--tool", "admin"]);
    assert!(!admin.ok);
    let error = admin.answer["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("needs more access") && error.contains("admin"),
        "{error}"
    );
    // Kept for the next sign-in, which asks for it; then the tool works.
    let listed = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(listed[0]["wanted_scope"], "mcp admin", "{listed}");
    let (replaced, address) = signing_in(&h, &["--json", "credential", "replace", &id]);
    assert!(
        address.contains("scope=mcp+admin") || address.contains("scope=mcp%20admin"),
        "{address}"
    );
    let id = replaced["credential"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(replaced["credential"]["wanted_scope"].is_null());
    let entries = h.claude_code_entries();
    let admin = python_client(entry_for(&entries, &peer.url), &["--tool", "admin"]);
    assert!(admin.ok, "{} {}", admin.answer, admin.stderr);

    // No token the service issued is in the data folder, the CLI's output,
    // or the app's settings (which hold the bridge's arguments and
    // environment).
    let tokens = peer.issued();
    assert!(tokens.len() >= 6, "{tokens:?}");
    let settings = std::fs::read_to_string(h.app_home().join(".claude.json")).expect("settings");
    for token in &tokens {
        h.assert_nowhere(token);
        assert!(
            !settings.contains(token.as_str()),
            "a token in the app's settings"
        );
    }

    h.run(&["credential", "delete", &id, "--yes"], "").ok();
    assert!(
        peer.stats()["revocations"].as_u64().unwrap_or(0) >= 1,
        "revoked at the service"
    );
}

/// A process killed (SIGKILL) right after it refreshed, while it uses the
/// new grant, loses nothing: the service rotated the refresh token and
/// forgot the old one, and the next process refreshes with the new one.
#[test]
fn a_process_killed_right_after_a_refresh_loses_nothing() {
    let h = Home::new();
    let peer = start_peer("2", &[]);
    h.vault("Work", "development");
    let id = add_with_sign_in(&h, &peer.url);
    std::thread::sleep(Duration::from_millis(2200));
    peer.config(r#"{"hold_mcp_seconds": 30}"#);
    let before = peer.stats()["mcp_requests"].as_u64().unwrap_or(0);
    let mut tester = h
        .command(&["credential", "test", &id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("keybearer");
    // The tester refreshed and now waits on the server with the new token.
    support::session::wait_for("the tester's request with the new token", || {
        peer.stats()["mcp_requests"].as_u64().unwrap_or(0) > before
    });
    assert_eq!(peer.stats()["refreshes"], 1);
    tester.kill().expect("SIGKILL");
    let _ = tester.wait();

    peer.config(r#"{"hold_mcp_seconds": 0}"#);
    std::thread::sleep(Duration::from_millis(2200));
    let again = h.run(&["credential", "test", &id], "");
    assert_eq!(again.code, 0, "{} {}", again.stdout, again.stderr);
    assert_eq!(
        peer.stats()["refreshes"],
        2,
        "refreshed with the rotated token"
    );
    assert_eq!(peer.stats()["refresh_failures"], 0);
}

/// With a browser opener on the PATH (`xdg-open`, here a script that
/// records its arguments, as any program could read them in
/// `/proc/<pid>/cmdline`, then loads the address with curl as a browser
/// would), the opener is given only the start address: neither `state` nor
/// the PKCE challenge. The terminal shows that start address too, and
/// neither secret (a terminal's scrollback and logs keep what it shows).
#[cfg(target_os = "linux")]
#[test]
fn the_browser_opener_is_given_only_the_start_address() {
    let h = Home::new();
    let peer = start_peer("60", &[]);
    h.vault("Work", "development");
    let argv = h.path("opener/argv");
    let authorization = h.path("opener/authorization");
    let page = h.path("opener/page");
    // The browser: the start page's redirect, recorded, then followed.
    h.script(
        "opener/xdg-open",
        &format!(
            "printf '%s\\n' \"$@\" > '{argv}'\n\
             curl -s -o /dev/null -w '%{{redirect_url}}' \"$1\" > '{authorization}'\n\
             exec curl -s -L --max-time 30 \"$(cat '{authorization}')\" > '{page}'",
            argv = argv.display(),
            authorization = authorization.display(),
            page = page.display()
        ),
    );
    let output = h
        .command(&[
            "--json",
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &peer.url,
            "--oauth",
        ])
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", h.path("opener").display()),
        )
        .stdin(Stdio::null())
        .output()
        .expect("keybearer");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let added: Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(added["type"], "mcp_oauth");
    assert!(std::fs::read_to_string(&page)
        .expect("page")
        .contains("Signed in"));

    let argv = std::fs::read_to_string(&argv).expect("argv");
    let opened = argv.trim();
    assert!(
        opened.starts_with("http://127.0.0.1:") && opened.contains("/start/"),
        "{opened}"
    );
    assert!(
        stderr.lines().any(|line| line.trim() == opened),
        "the terminal shows the start address: {stderr}"
    );
    assert!(
        stderr.contains("Only if no browser window appeared"),
        "{stderr}"
    );
    let authorization = std::fs::read_to_string(&authorization).expect("authorization");
    assert!(authorization.contains("/authorize?"), "{authorization}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_shows_no_sign_in_secret(&authorization, &[&argv, &stderr, &stdout]);
    assert!(
        !argv.contains("state=") && !argv.contains("code_challenge"),
        "{argv}"
    );
}

#[test]
fn an_mcp_oauth_credential_can_be_given_as_json() {
    let h = Home::new();
    h.vault("Work", "development");
    let url = "https://mcp.example.com/mcp";
    let json = r#"{"type":"mcp_oauth","access_token":"tok_json_access","expires_at":"2099-01-01T00:00:00Z",
        "refresh":{"client_id":"c1","refresh_token":"tok_json_refresh","token_endpoint":"https://auth.example.com/token",
                   "token_endpoint_auth":{"type":"client_secret_basic","client_secret":"tok_json_client"}}}"#;
    let added = h
        .run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--url",
                url,
                "--from-json",
            ],
            json,
        )
        .ok()
        .json();
    assert_eq!(added["type"], "mcp_oauth");
    let bad = h
        .run(
            &["credential", "add", "--vault", "Work", "--url", "https://b.example.com/mcp", "--from-json"],
            r#"{"access_token":"tok_json_bad","refresh":{"client_id":"c","refresh_token":"tok_json_r2","token_endpoint":"http://auth.example.com/t"}}"#,
        )
        .code(2);
    assert!(bad.stderr.contains("https"), "{}", bad.stderr);
    for secret in [
        "tok_json_access",
        "tok_json_refresh",
        "tok_json_client",
        "tok_json_bad",
        "tok_json_r2",
    ] {
        h.assert_nowhere(secret);
    }
    let _ = std::io::stdout().flush();
}
