//! Shared by the desktop test files: first-run set-up and vault steps in the
//! real window, unique tokens, and the SHA-256 the test MCP server reports;
//! `cards`: the Apps screen's cards; `oauth`: the test authorization server
//! and the OAuth tests' checks; `registry`: the MCP Registry test peer.

#![allow(dead_code)] // each test file uses its own part of it

pub mod cards;
pub mod oauth;
pub mod registry;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use keybearer_e2e::{repo_root, Window};

/// Runs the CLI on the window's data folder to its end (it must succeed);
/// `stdin` is what it reads.
pub fn cli(data: &Path, args: &[&str], stdin: &str) {
    let mut child = Command::new(repo_root().join("target/debug/keybearer"))
        .args(args)
        .env("KEYBEARER_HOME", data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the CLI (make app builds it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("CLI");
    assert!(
        output.status.success(),
        "keybearer {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// SHA-256 hex, as the test server's whoami tool reports the token it got.
pub fn sha256_hex(text: &str) -> String {
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

pub fn unique_token(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("e2e_{label}_{nanos:x}")
}

/// First run through to the main screen (the first-run path left at its
/// first step with "Set up later"); returns the recovery key shown.
pub async fn set_up(window: &Window) -> String {
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
    leave_first_steps(window).await;
    key
}

/// The first-run path shows once the recovery key is saved: "Set up later"
/// leaves it for the main screen.
pub async fn leave_first_steps(window: &Window) {
    window.wait_screen("first-steps").await;
    window.click("first-steps-close").await;
    window.wait_screen("main").await;
}

pub async fn create_vault(window: &Window, name: &str) {
    window.click("vault-create-open").await;
    window.fill("vault-name", name).await;
    window.click("vault-create-submit").await;
    window
        .wait_text("screen-main", |text| text.contains(name))
        .await;
}

pub async fn open_vault(window: &Window, name: &str) {
    // The list may still be loading (just navigated to it).
    window.el("vault-row").await;
    for row in window.all("vault-row").await {
        if row.text().await.unwrap_or_default().contains(name) {
            let open = row
                .find(fantoccini::Locator::Css("[data-testid=\"vault-open\"]"))
                .await
                .expect("open button in the row");
            open.click().await.expect("open vault");
            window.el("add-credential").await;
            return;
        }
    }
    panic!("no vault row named {name}");
}

/// "Other server" in the open vault's add form: its address field shows.
pub async fn other_server(window: &Window) {
    window.click("cred-other-server").await;
    window.el("cred-url").await;
}

/// Opens the add form's Advanced part (protocol, how the server takes its
/// secret) unless it is open.
pub async fn advanced(window: &Window) {
    let open = window
        .client
        .execute(
            "return document.querySelector('[data-testid=\"cred-advanced\"]').open === true",
            vec![],
        )
        .await
        .expect("read the Advanced part")
        .as_bool()
        .unwrap_or(false);
    if !open {
        window.click("cred-advanced-toggle").await;
    }
}

/// "Other server" with a bearer token chosen under Advanced (so the form
/// does not wait for the server's answer: the address may be unreachable).
pub async fn other_server_with_token(window: &Window, url: &str) {
    other_server(window).await;
    window.fill("cred-url", url).await;
    advanced(window).await;
    window.click("cred-protocol-http").await;
    window.click("cred-kind-bearer").await;
}

pub async fn vault_names(window: &Window) -> Vec<String> {
    let mut names = Vec::new();
    for row in window.all("vault-row").await {
        names.push(row.text().await.unwrap_or_default());
    }
    names
}

/// The window as in dark mode: the stylesheet's `prefers-color-scheme: dark`
/// rules applied as they are (through the CSSOM; the CSP allows no inline
/// style). The display has no dark-mode setting to switch.
pub async fn dark_mode(window: &Window) {
    window
        .client
        .execute(
            "for (const sheet of document.styleSheets) {
               let rules; try { rules = [...sheet.cssRules]; } catch { continue; }
               for (const rule of rules) {
                 if (rule.media && rule.media.mediaText.includes('prefers-color-scheme: dark')) {
                   for (const inner of [...rule.cssRules]) sheet.insertRule(inner.cssText, sheet.cssRules.length);
                 }
               }
             }
             document.documentElement.style.colorScheme = 'dark';
             return true;",
            vec![],
        )
        .await
        .expect("dark mode");
}
