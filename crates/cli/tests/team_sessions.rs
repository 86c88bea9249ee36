//! Team vaults where credentials are used, through the real binary, against
//! a real OpenBao (`bao server -dev`, crates/team/tests/support/bao.rs) and
//! the official Python SDK's MCP server, which accepts only the token in a
//! file the test rotates: a proxy-mode session, a direct-mode session and
//! the bridge an app starts (its entry written by `apps connect`) all reach
//! the server with the team credential; a teammate's rotation reaches the
//! running bridge in the same MCP session; a production team vault never
//! joins a development session or app. No token, password or sign-in in
//! any output or file of the data folder.
#![cfg(unix)]

#[path = "../../team/tests/support/bao.rs"]
mod bao;
#[path = "support/team_member.rs"]
mod member;
mod support;

use std::path::Path;

use bao::Bao;
use serde_json::Value;
use support::apps::{entry_for, python_client};
use support::session::{
    read, repo_root, sha256_hex, start_mcp_server_reading, token, venv_python, wait_for, Home,
};

/// `member-write.hcl` for production too (the sample is per environment).
fn allow_production(bao: &Bao) {
    let sample = std::fs::read_to_string(repo_root().join("docs/team-policies/member-write.hcl"))
        .expect("sample policy");
    let policy = sample
        .replace("\"secret/", &format!("\"{}/", bao::MOUNT))
        .replace("/development/", "/production/");
    bao.root(
        http::Method::POST,
        "sys/policies/acl/member-rw-prod",
        serde_json::json!({ "policy": policy }),
    );
}

fn write_token(file: &Path, value: &str) {
    let staged = file.with_extension("new");
    std::fs::write(&staged, value).expect("token file");
    std::fs::rename(staged, file).expect("token file");
}

/// A custom agent that calls `whoami` with the official client through the
/// MCP config Keybearer wrote, and keeps the answer in `out`.
fn calling_agent(h: &Home, out: &Path) -> String {
    h.script(
        "agent.sh",
        &format!(
            "'{python}' '{client}' --config \"$KEYBEARER_MCP_CONFIG\" --tool whoami > '{out}' || exit 3",
            python = venv_python().display(),
            client = repo_root().join("tests/mcp-peers/client.py").display(),
            out = out.display(),
        ),
    )
}

fn whoami_through_session(h: &Home, vaults: &[&str], direct: bool) -> Value {
    let out = h.path("whoami.json");
    let _ = std::fs::remove_file(&out);
    let agent = calling_agent(h, &out);
    let mut args = vec!["session", "start"];
    for vault in vaults {
        args.extend(["--vault", vault]);
    }
    args.extend(["--agent", "custom"]);
    if direct {
        args.push("--direct");
    }
    args.extend(["--", &agent, "{mcp_config}"]);
    let run = h.run(&args, "").code(0);
    assert!(
        run.stderr
            .contains(if direct { "direct mode" } else { "proxy mode" }),
        "{}",
        run.stderr
    );
    serde_json::from_str(&read(&out)).expect("client JSON")
}

#[test]
fn a_team_vault_works_in_sessions_direct_mode_and_an_apps_bridge() {
    let mut bao = Bao::start();
    allow_production(&bao);
    let alice_password = bao.add_user("alice", "member-rw,member-rw-prod", "1h", "2h");
    let bob_password = bao.add_user("bob", "member-rw", "1h", "2h");
    let first = token("team-first");
    let second = token("team-second");
    let work = tempfile::tempdir().expect("tempdir");
    let accepted = work.path().join("accepted");
    write_token(&accepted, &first);
    let server = start_mcp_server_reading("streamable_http", &accepted);

    let alice = member::signed_in_as(&bao, "alice", alice_password.expose());
    alice
        .run(
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
    alice
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Shared",
                "--url",
                &server.url,
            ],
            &format!("{first}\n"),
        )
        .code(0);

    // Proxy mode: the agent gets the session secret, the server the token.
    let proxied = whoami_through_session(&alice, &["Shared"], false);
    assert_eq!(proxied["result"], sha256_hex(&first), "{proxied}");
    // Direct mode (approved): the agent's config carries the team token.
    alice.approve_direct_sessions();
    let direct = whoami_through_session(&alice, &["Shared"], true);
    assert_eq!(direct["result"], sha256_hex(&first), "{direct}");

    // The bridge an app starts, from the entry `apps connect` wrote.
    alice
        .apps(&["apps", "connect", "claude-code", "--vault", "Shared"])
        .code(0);
    let entries = alice.claude_code_entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = entry_for(&entries, &server.url).clone();
    let signal = work.path().join("rotated");
    let signal_arg = signal.to_string_lossy().into_owned();
    let client = std::thread::spawn(move || {
        python_client(
            &entry,
            &[
                "--tool",
                "whoami",
                "--again-when",
                &signal_arg,
                "--timeout",
                "60",
            ],
        )
    });
    wait_for("the bridge's first call", || {
        signal.with_extension("first").exists()
    });

    // Bob, a teammate on another computer, rotates while the bridge runs;
    // the MCP server now accepts only the new token.
    let bob = member::signed_in_as(&bao, "bob", bob_password.expose());
    bob.run(
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
    let listed = bob
        .run(&["--json", "credential", "list", "--vault", "Shared"], "")
        .code(0)
        .json();
    let id = listed[0]["id"].as_str().expect("id").to_string();
    bob.run(&["credential", "replace", &id], &format!("{second}\n"))
        .code(0);
    write_token(&accepted, &second);
    std::fs::write(&signal, "go").expect("signal");
    let run = client.join().expect("client thread");
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], sha256_hex(&first));
    assert_eq!(
        run.answer["second_result"],
        sha256_hex(&second),
        "the running bridge used the rotated token: {}",
        run.stderr
    );
    assert!(!run.stderr.contains(&first) && !run.stderr.contains(&second));

    // Production is another folder and never joins a development session
    // or app connection.
    alice
        .run(
            &[
                "vault",
                "create",
                "Shared prod",
                "--team",
                "acme",
                "--env",
                "production",
                "--folder",
                "shared",
            ],
            "",
        )
        .code(0);
    alice
        .run(
            &[
                "session",
                "start",
                "--vault",
                "Shared",
                "--vault",
                "Shared prod",
                "--agent",
                "custom",
                "--",
                "/bin/true",
            ],
            "",
        )
        .fails_with(2, "different environments");
    alice
        .apps(&[
            "apps",
            "change",
            "claude-code",
            "--vault",
            "Shared",
            "--vault",
            "Shared prod",
        ])
        .code(2);

    // The session left its last good value in the database, sealed.
    let database = alice.path("data").join("vault.db");
    let kept: i64 = rusqlite::Connection::open(&database)
        .expect("db")
        .query_row("SELECT COUNT(*) FROM team_last_good", [], |row| row.get(0))
        .expect("count");
    assert!(kept > 0, "the last good value is kept");
    for home in [&alice, &bob] {
        for secret in [
            first.as_str(),
            second.as_str(),
            alice_password.expose(),
            bob_password.expose(),
            bao.root_token.as_str(),
        ] {
            home.assert_nowhere(secret);
        }
    }
    bao.stop();
}

/// The last value the team server confirmed outlives the process, sealed in
/// the database: a bridge an app starts while the server is down (a new
/// process, nothing in memory) still reaches the MCP server, until the
/// server's last-good limit has passed since the value was last confirmed;
/// signing out wipes it. The database never holds it in the clear.
#[test]
fn the_last_good_value_is_sealed_bounded_in_age_and_wiped_at_sign_out() {
    let mut bao = Bao::start();
    let password = bao.add_user("dana", "member-rw", "1h", "2h");
    let secret = token("team-kept");
    let work = tempfile::tempdir().expect("tempdir");
    let accepted = work.path().join("accepted");
    write_token(&accepted, &secret);
    let server = start_mcp_server_reading("streamable_http", &accepted);

    let h = Home::new();
    const LIMIT: u64 = 8;
    h.run(
        &[
            "team",
            "add",
            &bao.address,
            "--name",
            "acme",
            "--mount",
            bao::MOUNT,
            "--check-interval",
            "1",
            "--last-good",
            &LIMIT.to_string(),
        ],
        "",
    )
    .code(0);
    h.run(
        &["team", "sign-in", "acme", "--user", "dana"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
    h.run(
        &[
            "vault",
            "create",
            "Kept",
            "--team",
            "acme",
            "--env",
            "development",
        ],
        "",
    )
    .code(0);
    h.run(
        &["credential", "add", "--vault", "Kept", "--url", &server.url],
        &format!("{secret}\n"),
    )
    .code(0);
    h.apps(&["apps", "connect", "claude-code", "--vault", "Kept"])
        .code(0);
    let entries = h.claude_code_entries();
    let entry = entry_for(&entries, &server.url);
    let whoami = || python_client(entry, &["--tool", "whoami"]);

    let online = whoami();
    assert!(online.ok, "{} {}", online.answer, online.stderr);
    let confirmed = std::time::Instant::now();
    let kept_rows = || -> i64 {
        rusqlite::Connection::open(h.path("data").join("vault.db"))
            .expect("db")
            .query_row("SELECT COUNT(*) FROM team_last_good", [], |row| row.get(0))
            .expect("count")
    };
    assert_eq!(kept_rows(), 1);
    h.assert_nowhere(&secret);

    // The team server goes down: a new bridge uses the sealed value.
    bao.stop();
    let offline = whoami();
    assert!(offline.ok, "{} {}", offline.answer, offline.stderr);
    assert_eq!(offline.answer["result"], sha256_hex(&secret));
    assert!(
        confirmed.elapsed() < std::time::Duration::from_secs(LIMIT),
        "the machine was too slow for this test's limit"
    );

    // Past the limit since the server last confirmed it: no longer used.
    std::thread::sleep(
        std::time::Duration::from_secs(LIMIT + 1).saturating_sub(confirmed.elapsed()),
    );
    let stale = whoami();
    assert!(
        !stale.ok,
        "a value past its limit was used: {}",
        stale.answer
    );
    assert!(
        stale.answer.to_string().contains("team server"),
        "{}",
        stale.answer
    );
    assert_eq!(kept_rows(), 0, "a value past its limit is removed");

    // Used again once the server is back (dev mode starts empty: restore
    // the credential as the team would), then sign-out wipes it.
    bao.restart_set_up();
    let password = bao.add_user("dana", "member-rw", "1h", "2h");
    h.run(
        &["team", "sign-in", "acme", "--user", "dana"],
        &format!("{}\n", password.expose()),
    )
    .code(0);
    h.run(&["vault", "delete", "Kept", "--yes"], "").code(0);
    h.run(
        &[
            "vault",
            "create",
            "Kept",
            "--team",
            "acme",
            "--env",
            "development",
        ],
        "",
    )
    .code(0);
    h.run(
        &["credential", "add", "--vault", "Kept", "--url", &server.url],
        &format!("{secret}\n"),
    )
    .code(0);
    h.apps(&["apps", "change", "claude-code", "--vault", "Kept"])
        .code(0);
    let entries = h.claude_code_entries();
    let again = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(again.ok, "{} {}", again.answer, again.stderr);
    assert_eq!(kept_rows(), 1);
    h.run(&["team", "sign-out", "acme"], "").code(0);
    assert_eq!(kept_rows(), 0, "sign-out wipes the kept values");
    h.assert_nowhere(&secret);
    h.assert_nowhere(password.expose());
    bao.stop();
}

/// A team vault added to an app's connection is used by the bridge the app
/// already runs for that server: the app's entry for it stays the same, so
/// the app never starts a new bridge.
#[test]
fn a_team_vault_added_to_a_connection_reaches_the_running_bridge() {
    let mut bao = Bao::start();
    let password = bao.add_user("alice", "member-rw", "1h", "2h");
    let local = token("local-first");
    let shared = token("team-shared");
    let work = tempfile::tempdir().expect("tempdir");
    let accepted = work.path().join("accepted");
    write_token(&accepted, &local);
    let server = start_mcp_server_reading("streamable_http", &accepted);

    let alice = member::signed_in_as(&bao, "alice", password.expose());
    alice
        .run(&["vault", "create", "Mine", "--env", "development"], "")
        .code(0);
    alice
        .run(
            &["credential", "add", "--vault", "Mine", "--url", &server.url],
            &format!("{local}\n"),
        )
        .code(0);
    alice
        .run(
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
    alice
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Shared",
                "--url",
                &server.url,
            ],
            &format!("{shared}\n"),
        )
        .code(0);
    alice
        .apps(&["apps", "connect", "claude-code", "--vault", "Mine"])
        .code(0);
    let before = alice.claude_code_entries();
    let entry = entry_for(&before, &server.url).clone();
    let signal = work.path().join("changed");
    let signal_arg = signal.to_string_lossy().into_owned();
    let client = std::thread::spawn(move || {
        python_client(
            &entry,
            &[
                "--tool",
                "whoami",
                "--again-when",
                &signal_arg,
                "--timeout",
                "60",
            ],
        )
    });
    wait_for("the bridge's first call", || {
        signal.with_extension("first").exists()
    });

    // The team vault goes first; the app's entry does not change.
    alice
        .apps(&[
            "apps",
            "change",
            "claude-code",
            "--vault",
            "Shared",
            "--vault",
            "Mine",
        ])
        .code(0);
    assert_eq!(
        format!("{:?}", alice.claude_code_entries()),
        format!("{before:?}")
    );
    write_token(&accepted, &shared);
    std::fs::write(&signal, "go").expect("signal");
    let run = client.join().expect("client thread");
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], sha256_hex(&local));
    assert_eq!(
        run.answer["second_result"],
        sha256_hex(&shared),
        "the running bridge used the team vault added to its connection: {}",
        run.stderr
    );
    for secret in [local.as_str(), shared.as_str(), password.expose()] {
        assert!(!run.stderr.contains(secret));
        alice.assert_nowhere(secret);
    }
    bao.stop();
}
