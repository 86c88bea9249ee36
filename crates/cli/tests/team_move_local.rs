//! `keybearer vault move VAULT --local` (a team vault back to this
//! computer) through the real binary, against a real OpenBao (`bao server
//! -dev`) and the official Python SDK's MCP server: the server stopped
//! while the credentials are read changes nothing; stopped while the team
//! copy is deleted, the vault is here with every value (its app works
//! without the server) and running the move again finishes the removal; a
//! member whose policy does not allow delete gets the values here and the
//! team copy stays on the server, as they were told.
#![cfg(unix)]

#[path = "../../team/tests/support/bao.rs"]
mod bao;
#[path = "support/team_member.rs"]
mod member;
#[path = "support/team_moves.rs"]
mod moves;
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use bao::Bao;
use http::Method;
use moves::{key, local_credentials, signed_in};
use serde_json::json;
use support::apps::{entry_for, python_client};
use support::session::{sha256_hex, start_mcp_server, token, Home};
/// How many credentials teammates put in the team vault moved back here:
/// enough that reading them takes a while to stop in the middle of.
const MANY: usize = 150;

/// Requests of `operation` on the data of the folder `tools` so far.
fn seen(bao: &Bao, operation: &str) -> usize {
    bao.audit_log()
        .lines()
        .filter(|line| {
            line.contains("\"type\":\"request\"")
                && line.contains("/data/keybearer/development/tools/")
                && line.contains(&format!("\"operation\":\"{operation}\""))
        })
        .count()
}

/// Runs `args` and stops the server once it has seen `at_least` more
/// requests of `operation` than before; the run's status and stderr.
fn stop_server_midway(
    h: &Home,
    bao: &mut Bao,
    args: &[&str],
    operation: &str,
    at_least: usize,
) -> (Option<i32>, String) {
    let before = seen(bao, operation);
    let mut child = h
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen(bao, operation) < before + at_least {
        assert!(
            child.try_wait().expect("status").is_none(),
            "the move ended before the server could be stopped in its middle"
        );
        assert!(
            Instant::now() < deadline,
            "no {operation} reached the server"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    bao.stop();
    let output = child.wait_with_output().expect("move");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The vault's id, from the list (which asks no team server).
fn vault_id(h: &Home) -> String {
    let list = h.run(&["--json", "vault", "list"], "").code(0).json();
    list.as_array()
        .expect("list")
        .iter()
        .find(|vault| vault["display_name"] == "Tools")
        .and_then(|vault| vault["id"].as_str())
        .expect("Tools")
        .to_string()
}

/// Team copies marked to remove (no value in the mark).
fn marks(h: &Home) -> i64 {
    rusqlite::Connection::open(h.path("data").join("vault.db"))
        .expect("db")
        .query_row(
            "SELECT COUNT(*) FROM meta WHERE key LIKE 'team_copy_left:%'",
            [],
            |row| row.get(0),
        )
        .expect("count")
}

fn sealed_here(h: &Home) -> i64 {
    rusqlite::Connection::open(h.path("data").join("vault.db"))
        .expect("db")
        .query_row("SELECT COUNT(*) FROM credentials", [], |row| row.get(0))
        .expect("count")
}

#[test]
fn moving_a_team_vault_here_loses_nothing_when_the_server_stops_midway() {
    let mut bao = Bao::start();
    let h = signed_in(&mut bao);
    let secret = token("back");
    let server = start_mcp_server("streamable_http", &secret);
    h.vault("Tools", "development");
    h.add("Tools", &server.url, "streamable_http", &secret);
    h.apps(&["apps", "connect", "claude-code", "--vault", "Tools"])
        .code(0);
    h.run(&["vault", "move", "Tools", "--team", "acme", "--yes"], "")
        .code(0);
    assert!(vault_id(&h).starts_with("tvl_"));
    let whoami = |h: &Home| {
        let entries = h.claude_code_entries();
        python_client(entry_for(&entries, &server.url), &["--tool", "whoami"])
    };
    // Teammates' credentials in the folder: enough that reading them takes
    // a while to stop in the middle of.
    let extras: Vec<String> = (0..MANY).map(|i| token(&format!("extra{i}"))).collect();
    let extra_url = |i: usize| format!("https://mcp{i}.example.com/mcp");
    let put_all = |bao: &Bao, with_server: bool| {
        let server_one = with_server.then(|| (server.url.clone(), &secret));
        for (url, value) in server_one
            .into_iter()
            .chain((0..MANY).map(|i| (extra_url(i), &extras[i])))
        {
            bao.root(
                Method::POST,
                &format!(
                    "{}/data/keybearer/development/tools/{}",
                    bao::MOUNT,
                    key(&url)
                ),
                json!({"data": {"url": url, "type": "static_bearer", "token": value}}),
            );
        }
    };
    put_all(&bao, false);
    let sign_in_again = |bao: &mut Bao, h: &Home| {
        bao.restart_set_up();
        let password = bao.add_user("erin", "member-rw", "1h", "2h");
        h.run(
            &["team", "sign-in", "acme", "--user", "erin"],
            &format!("{}\n", password.expose()),
        )
        .code(0);
    };

    // Without --yes and a terminal, nothing is read or changed.
    let reads = seen(&bao, "read");
    h.run(&["vault", "move", "Tools", "--local"], "")
        .fails_with(2, "Nothing was moved");
    assert_eq!(seen(&bao, "read"), reads);
    // Both ways at once, or neither, is refused by the command line.
    h.run(&["vault", "move", "Tools"], "").code(2);

    // The server stops while the credentials are being read: nothing changed.
    let (status, stderr) = stop_server_midway(
        &h,
        &mut bao,
        &["vault", "move", "Tools", "--local", "--yes"],
        "read",
        3,
    );
    assert_eq!(status, Some(16), "{stderr}");
    assert!(
        stderr.contains("Could not reach the team server"),
        "{stderr}"
    );
    assert!(vault_id(&h).starts_with("tvl_"), "still the team vault");
    assert_eq!(sealed_here(&h), 0);

    // Back (a dev server comes back empty: the team puts the folder back).
    // The server stops while the team copy is being deleted: the vault is
    // here with every value, and its app works without the server.
    sign_in_again(&mut bao, &h);
    put_all(&bao, true);
    let (status, stderr) = stop_server_midway(
        &h,
        &mut bao,
        &["vault", "move", "Tools", "--local", "--yes"],
        "delete",
        2,
    );
    assert_eq!(status, Some(16), "{stderr}");
    assert!(stderr.contains("is on this computer now"), "{stderr}");
    assert!(stderr.contains("again to finish"), "{stderr}");
    assert_eq!(marks(&h), 1, "the removal left to do is marked");
    assert!(vault_id(&h).starts_with("vlt_"));
    assert_eq!(local_credentials(&h), MANY + 1);
    assert_eq!(sealed_here(&h), (MANY + 1) as i64);
    h.run(&["credential", "check", "--vault", "Tools"], "")
        .code(0);
    let here = whoami(&h);
    assert!(here.ok, "{} {}", here.answer, here.stderr);
    assert_eq!(here.answer["result"], sha256_hex(&secret));

    // Running it again finishes: the team copy is deleted from the server.
    sign_in_again(&mut bao, &h);
    put_all(&bao, true);
    let finished = h
        .run(
            &["--json", "vault", "move", "Tools", "--local", "--yes"],
            "",
        )
        .code(0)
        .json();
    assert_eq!(finished["team_copy"], "deleted", "{finished}");
    assert_eq!(marks(&h), 0);
    let (status, _) = bao.try_root(
        Method::GET,
        &format!(
            "{}/data/keybearer/development/tools/{}",
            bao::MOUNT,
            key(&server.url)
        ),
        None,
    );
    assert_eq!(status, 404, "the team copy is deleted");
    h.run(&["vault", "move", "Tools", "--local", "--yes"], "")
        .fails_with(2, "already a vault of this computer");

    // The moved vault still reaches the real server with its token.
    let list = h
        .run(&["--json", "credential", "list", "--vault", "Tools"], "")
        .code(0)
        .json();
    let id = list
        .as_array()
        .expect("list")
        .iter()
        .find(|credential| credential["mcp_server_url"] == server.url.as_str())
        .and_then(|credential| credential["id"].as_str())
        .expect("the real server's credential")
        .to_string();
    let tested = h
        .run(&["--json", "credential", "test", &id], "")
        .code(0)
        .json();
    assert!(
        tested.to_string().contains("\"outcome\":\"ok\""),
        "{tested}"
    );
    let moved: String = rusqlite::Connection::open(h.path("data").join("vault.db"))
        .expect("db")
        .query_row(
            "SELECT detail FROM events WHERE kind = 'vault.moved' ORDER BY id DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .expect("the move is in the audit trail");
    assert!(moved.contains("moved from the team server acme"), "{moved}");
    for value in extras.iter().chain([&secret]) {
        h.assert_nowhere(value);
    }
    bao.stop();
}

#[test]
fn a_member_who_may_not_delete_moves_a_team_vault_here_and_the_team_copy_stays() {
    let mut bao = Bao::start();
    let secret = token("kept");
    let server = start_mcp_server("streamable_http", &secret);
    bao.root(
        Method::POST,
        &format!(
            "{}/data/keybearer/development/tools/{}",
            bao::MOUNT,
            key(&server.url)
        ),
        json!({"data": {"url": server.url, "type": "static_bearer", "token": secret}}),
    );
    let password = bao.add_user("rita", "member-ro", "1h", "2h");
    let h = member::signed_in_as(&bao, "rita", password.expose());
    h.run(
        &[
            "vault",
            "create",
            "Tools",
            "--team",
            "acme",
            "--env",
            "development",
        ],
        "",
    )
    .code(0);
    let moved = h
        .run(
            &["--json", "vault", "move", "Tools", "--local", "--yes"],
            "",
        )
        .code(0)
        .json();
    assert_eq!(moved["team_copy"], "kept", "{moved}");
    assert_eq!(moved["copied"], 1);
    assert_eq!(seen(&bao, "delete"), 0, "nothing deleted on the server");
    let (status, _) = bao.try_root(
        Method::GET,
        &format!(
            "{}/data/keybearer/development/tools/{}",
            bao::MOUNT,
            key(&server.url)
        ),
        None,
    );
    assert_eq!(status, 200, "the team copy stays");
    h.run(&["vault", "move", "Tools", "--local", "--yes"], "")
        .fails_with(2, "already a vault of this computer");
    // The values are here: the real server is reached without the team server.
    bao.stop();
    let tested = h
        .run(&["--json", "credential", "test", "--vault", "Tools"], "")
        .json();
    assert!(
        tested.to_string().contains("\"outcome\":\"ok\""),
        "{tested}"
    );
    h.assert_nowhere(&secret);
    h.assert_nowhere(password.expose());
}
