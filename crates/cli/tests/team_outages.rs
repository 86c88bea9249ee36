//! What the user sees when a team server stops honouring this computer,
//! through the real binary and an app's bridge, against a real OpenBao
//! (`bao server -dev`) and the official Python SDK's MCP server: a sign-in
//! past its maximum lifetime asks for a new sign-in, and nothing keeps
//! asking the server (its audit log counts every request); a server that
//! came back empty (dev mode keeps nothing) names the vault it no longer
//! has. (A server with its own CA is `team.rs`'s.)
#![cfg(unix)]

#[path = "../../team/tests/support/bao.rs"]
mod bao;
#[path = "support/team_member.rs"]
mod member;
mod support;

use std::time::Duration;

use bao::Bao;
use support::apps::{entry_for, python_client};
use support::session::{sha256_hex, start_mcp_server, token, Home};

/// A member signed in for `ttl` (at most `max_ttl`), with a team vault
/// `Shared` holding the real server's credential, connected to Claude Code.
fn set_up(bao: &mut Bao, ttl: &str, max_ttl: &str, secret: &str, url: &str) -> Home {
    let password = bao.add_user("erin", "member-rw", ttl, max_ttl);
    let h = member::signed_in_as(bao, "erin", password.expose());
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
    h.run(
        &["credential", "add", "--vault", "Shared", "--url", url],
        &format!("{secret}\n"),
    )
    .code(0);
    h.apps(&["apps", "connect", "claude-code", "--vault", "Shared"])
        .code(0);
    h.assert_nowhere(password.expose());
    h
}

#[test]
fn an_expired_sign_in_asks_for_a_new_one_and_nothing_retries() {
    let mut bao = Bao::start();
    let secret = token("expiring");
    let server = start_mcp_server("streamable_http", &secret);
    // The token lives 4 s and cannot be renewed past that.
    let h = set_up(&mut bao, "4s", "4s", &secret, &server.url);
    let whoami = || {
        let entries = h.claude_code_entries();
        python_client(entry_for(&entries, &server.url), &["--tool", "whoami"])
    };
    let before = whoami();
    assert!(before.ok, "{} {}", before.answer, before.stderr);
    assert_eq!(before.answer["result"], sha256_hex(&secret));

    std::thread::sleep(Duration::from_secs(6));
    let listed = h
        .run(&["credential", "list", "--vault", "Shared"], "")
        .fails_with(14, "Sign in to the team server again");
    assert!(
        listed.stderr.contains("acme") || listed.stderr.contains(&bao.address),
        "{}",
        listed.stderr
    );

    // The app's bridge: refused, and the server is asked once, not in a loop.
    let seen = bao.requests_seen();
    let after = whoami();
    assert!(!after.ok, "{}", after.answer);
    let told = format!("{} {}", after.answer, after.stderr);
    assert!(told.contains("Sign in to the team server again"), "{told}");
    let asked = bao.requests_seen() - seen;
    assert!(asked <= 2, "the bridge asked the server {asked} times");
    // Again: the same, one question per start at most.
    let seen = bao.requests_seen();
    assert!(!whoami().ok);
    assert!(
        bao.requests_seen() - seen <= 2,
        "no loop of refused requests"
    );
    h.assert_nowhere(&secret);
    bao.stop();
}

#[test]
fn a_server_that_came_back_empty_names_the_vault_it_lost() {
    let mut bao = Bao::start();
    let secret = token("lost");
    let server = start_mcp_server("streamable_http", &secret);
    let h = set_up(&mut bao, "1h", "2h", &secret, &server.url);

    // Restarted in dev mode: the mount and the members are set up again,
    // no secret came back.
    bao.restart_set_up();
    let password = bao.add_user("erin", "member-rw", "1h", "2h");
    h.run(
        &["team", "sign-in", "acme", "--user", "erin"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
    let missing = h
        .run(&["credential", "list", "--vault", "Shared"], "")
        .fails_with(3, "was not found on the team server");
    assert!(
        missing
            .stderr
            .contains("team-kv/keybearer/development/shared/"),
        "{}",
        missing.stderr
    );
    let entries = h.claude_code_entries();
    let refused = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(!refused.ok, "{}", refused.answer);
    let told = format!("{} {}", refused.answer, refused.stderr);
    assert!(told.contains("was not found on the team server"), "{told}");
    assert!(told.contains("keybearer/development/shared/"), "{told}");
    h.assert_nowhere(&secret);
    h.assert_nowhere(password.expose());
    bao.stop();
}
