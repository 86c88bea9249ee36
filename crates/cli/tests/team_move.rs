//! `keybearer vault move VAULT --team SERVER` through the real binary,
//! against a real OpenBao (`bao server -dev`) and the official Python SDK's
//! MCP server: the team server stopped in the middle of the copy loses
//! nothing (the local vault, its tokens and the app using it work as
//! before); a folder holding a different value for one of the servers
//! stops the move before anything is written; the same value already there
//! counts as copied; a finished move leaves the vault's name, environment
//! and app connection to the team vault, and no sealed token on this
//! computer.
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

/// How many credentials the moved vault holds besides the real server's:
/// enough that the copy takes a while to stop in the middle of.
const EXTRA: usize = 24;

/// Writes into the vault's folder the server has received so far.
fn writes_seen(bao: &Bao) -> usize {
    bao.audit_log()
        .lines()
        .filter(|line| {
            line.contains("\"type\":\"request\"")
                && line.contains("/data/keybearer/development/tools/")
                && (line.contains("\"operation\":\"create\"")
                    || line.contains("\"operation\":\"update\""))
        })
        .count()
}

#[test]
fn moving_a_vault_loses_nothing_when_the_server_stops_midway() {
    let mut bao = Bao::start();
    let h = signed_in(&mut bao);
    let secret = token("moved");
    let server = start_mcp_server("streamable_http", &secret);
    h.vault("Tools", "development");
    h.add("Tools", &server.url, "streamable_http", &secret);
    let extras: Vec<String> = (0..EXTRA).map(|i| token(&format!("extra{i}"))).collect();
    for (i, value) in extras.iter().enumerate() {
        h.add(
            "Tools",
            &format!("https://mcp{i}.example.com/mcp"),
            "streamable_http",
            value,
        );
    }
    h.apps(&["apps", "connect", "claude-code", "--vault", "Tools"])
        .code(0);
    let whoami = |h: &Home| {
        let entries = h.claude_code_entries();
        python_client(entry_for(&entries, &server.url), &["--tool", "whoami"])
    };

    // Without --yes and a terminal, nothing is sent.
    h.run(&["vault", "move", "Tools", "--team", "acme"], "")
        .fails_with(2, "Nothing was moved");
    assert_eq!(writes_seen(&bao), 0);

    // The server stops while the credentials are being written.
    let mut child = h
        .command(&["vault", "move", "Tools", "--team", "acme", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while writes_seen(&bao) < 3 {
        assert!(
            child.try_wait().expect("status").is_none(),
            "the move ended before the server could be stopped in its middle"
        );
        assert!(Instant::now() < deadline, "no write reached the server");
        std::thread::sleep(Duration::from_millis(5));
    }
    bao.stop();
    let output = child.wait_with_output().expect("move");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(16), "{stderr}");
    assert!(
        stderr.contains("Could not reach the team server"),
        "{stderr}"
    );

    // Nothing lost: the vault, every token, the app's bridge.
    let vault = h
        .run(&["--json", "vault", "show", "Tools"], "")
        .code(0)
        .json();
    assert!(vault["vault"]["id"]
        .as_str()
        .expect("id")
        .starts_with("vlt_"));
    assert!(vault["vault"]["team"].is_null());
    assert_eq!(local_credentials(&h), EXTRA + 1);
    h.run(&["credential", "check", "--vault", "Tools"], "")
        .code(0);
    let still = whoami(&h);
    assert!(still.ok, "{} {}", still.answer, still.stderr);
    assert_eq!(still.answer["result"], sha256_hex(&secret));

    // The server is back (a dev server comes back empty). A teammate put a
    // different value for one server into the folder: refused, nothing written.
    bao.restart_set_up();
    let password = bao.add_user("erin", "member-rw", "1h", "2h");
    h.run(
        &["team", "sign-in", "acme", "--user", "erin"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
    let put = |url: &str, value: &str| {
        bao.root(
            Method::POST,
            &format!(
                "{}/data/keybearer/development/tools/{}",
                bao::MOUNT,
                key(url)
            ),
            json!({"data": {"url": url, "type": "static_bearer", "token": value}}),
        );
    };
    let first_extra = "https://mcp0.example.com/mcp";
    put(first_extra, "tok-a-teammates-own-value");
    let before = writes_seen(&bao);
    h.run(&["vault", "move", "Tools", "--team", "acme", "--yes"], "")
        .fails_with(
            2,
            "already holds a different credential for https://mcp0.example.com/mcp",
        );
    assert_eq!(writes_seen(&bao), before, "nothing was written");
    assert_eq!(local_credentials(&h), EXTRA + 1);

    // The same value already there (an earlier attempt) counts as copied.
    put(first_extra, &extras[0]);
    let moved = h
        .run(
            &[
                "--json", "vault", "move", "Tools", "--team", "acme", "--yes",
            ],
            "",
        )
        .code(0)
        .json();
    assert_eq!(moved["already_there"], 1);
    assert_eq!(moved["written"], EXTRA);
    assert!(moved["vault"]["id"]
        .as_str()
        .expect("id")
        .starts_with("tvl_"));
    assert_eq!(moved["vault"]["display_name"], "Tools");
    assert_eq!(moved["vault"]["team"]["folder"], "tools");

    // The team vault took the name, the credentials and the app connection.
    assert_eq!(local_credentials(&h), EXTRA + 1);
    let through_team = whoami(&h);
    assert!(
        through_team.ok,
        "{} {}",
        through_team.answer, through_team.stderr
    );
    assert_eq!(through_team.answer["result"], sha256_hex(&secret));
    let sealed: i64 = rusqlite::Connection::open(h.path("data").join("vault.db"))
        .expect("db")
        .query_row("SELECT COUNT(*) FROM credentials", [], |row| row.get(0))
        .expect("count");
    assert_eq!(sealed, 0, "no sealed token left on this computer");
    let events = h
        .run(&["--json", "events", "--limit", "100"], "")
        .code(0)
        .json();
    assert!(events.to_string().contains("vault.moved"), "{events}");

    for value in extras.iter().chain([&secret]) {
        h.assert_nowhere(value);
    }
    h.assert_nowhere(password.expose());
    bao.stop();
}
