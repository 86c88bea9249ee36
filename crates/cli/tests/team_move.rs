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
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use bao::Bao;
use http::Method;
use serde_json::json;
use support::apps::{entry_for, python_client};
use support::session::{sha256_hex, start_mcp_server, token, Home};

/// How many credentials the moved vault holds besides the real server's:
/// enough that the copy takes a while to stop in the middle of.
const EXTRA: usize = 24;

/// How many credentials teammates put in the team vault moved back here.
const MANY: usize = 150;

fn signed_in(bao: &mut Bao) -> Home {
    let password = bao.add_user("erin", "member-rw", "1h", "2h");
    let h = Home::new();
    h.run(
        &[
            "team",
            "add",
            &bao.address,
            "--name",
            "acme",
            "--mount",
            bao::MOUNT,
        ],
        "",
    )
    .code(0);
    h.run(
        &["team", "sign-in", "acme", "--user", "erin"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
    h
}

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

/// The name of `url`'s secret in a team vault's folder (as
/// `keybearer_team::credential_key` makes it).
fn key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable: String = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}-{}",
        readable.trim_matches('_'),
        &data_encoding::HEXLOWER.encode(&Sha256::digest(url.as_bytes()))[..8]
    )
}

fn local_credentials(h: &Home) -> usize {
    h.run(&["--json", "credential", "list", "--vault", "Tools"], "")
        .code(0)
        .json()
        .as_array()
        .expect("list")
        .len()
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
    let h = Home::new();
    h.run(
        &[
            "team",
            "add",
            &bao.address,
            "--name",
            "acme",
            "--mount",
            bao::MOUNT,
        ],
        "",
    )
    .code(0);
    h.run(
        &["team", "sign-in", "acme", "--user", "rita"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
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
