//! `keybearer bridge` as apps run it: an app connection written into Claude
//! Code's settings in a throwaway HOME, then the official SDK clients
//! (Python, TypeScript v2) starting exactly the command of each entry, over
//! stdio, against real token-requiring servers (Python SDK: Streamable HTTP
//! and legacy SSE; TypeScript SDK v2: stateless, strict 2026-07-28). The
//! servers see the real token; the settings file, the clients' output and
//! the bridge's stderr never hold it.

#![cfg(unix)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::apps::{entry_for, python_client, ts_client};
use support::session::{
    sha256_hex, start_mcp_server, start_python_server, start_ts_server, token, Home,
};

fn connected(h: &Home) -> Vec<support::apps::Entry> {
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    h.claude_code_entries()
}

fn assert_token_nowhere(h: &Home, secret: &str, outputs: &[&str]) {
    let settings = std::fs::read_to_string(h.app_home().join(".claude.json")).expect("settings");
    assert!(!settings.contains(secret), "token in the app's settings");
    for output in outputs {
        assert!(!output.contains(secret), "token in a client's output");
    }
    h.assert_nowhere(secret);
}

/// Both transports of the Python SDK server, reached by its own client
/// through the entries Keybearer wrote: the server sees the real token.
#[test]
fn an_app_reaches_both_transports_through_its_bridge_entries() {
    let h = Home::new();
    let secret = token("bridged");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);
    let entries = connected(&h);
    assert_eq!(entries.len(), 2, "one entry per server: {entries:?}");

    let mut outputs = Vec::new();
    for url in [&http.url, &sse.url] {
        let entry = entry_for(&entries, url);
        assert!(
            !entry.args.iter().any(|arg| arg.contains(&secret))
                && !entry.env.iter().any(|(_, v)| v.contains(&secret)),
            "the entry holds no token"
        );
        let run = python_client(entry, &["--tool", "whoami"]);
        assert!(run.ok, "{url}: {} {}", run.answer, run.stderr);
        assert_eq!(run.answer["result"], sha256_hex(&secret), "{url}");
        outputs.push(run.answer.to_string());
        outputs.push(run.stderr);
    }
    let used = h
        .run(&["--json", "events", "--limit", "50"], "")
        .ok()
        .json();
    let by_app = used
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "credential.used" && e["connection_id"].is_string())
        .count();
    assert!(by_app >= 4, "uses by the app are in the trail: {used}");
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    assert_token_nowhere(&h, &secret, &refs);
}

/// What a relay must carry besides answers: a 2 MB result, progress and log
/// notifications, an elicitation the server asks the app, and a cancelled
/// call after which the connection still works; on both transports.
#[test]
fn the_bridge_relays_large_messages_notifications_server_requests_and_cancellation() {
    let h = Home::new();
    let secret = token("relay");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);
    let entries = connected(&h);
    for url in [&http.url, &sse.url] {
        let entry = entry_for(&entries, url);
        let big = python_client(entry, &["--tool", "big", "--args", r#"{"size": 2097152}"#]);
        assert!(big.ok, "{url}: {}", big.answer);
        assert_eq!(big.answer["result_chars"], 2_097_152, "{url}");

        let progress = python_client(entry, &["--tool", "progress", "--args", r#"{"steps": 3}"#]);
        assert!(progress.ok, "{url}: {}", progress.answer);
        assert_eq!(progress.answer["progress"], 3, "{url}: {}", progress.answer);
        assert_eq!(progress.answer["logs"], 3, "{url}: {}", progress.answer);

        let asked = python_client(
            entry,
            &[
                "--tool",
                "ask",
                "--args",
                r#"{"question": "colour?"}"#,
                "--answer",
                "blue",
            ],
        );
        assert!(asked.ok, "{url}: {}", asked.answer);
        assert_eq!(asked.answer["result"], "blue", "{url}");
        assert_eq!(
            asked.answer["server_requests"],
            serde_json::json!(["elicitation/create"]),
            "{url}"
        );

        let cancelled = python_client(
            entry,
            &[
                "--tool",
                "slow",
                "--args",
                r#"{"seconds": 30}"#,
                "--cancel-after",
                "1",
            ],
        );
        assert!(cancelled.ok, "{url}: {}", cancelled.answer);
        assert_eq!(cancelled.answer["cancelled"], true, "{url}");
        assert_eq!(cancelled.answer["alive_after_cancel"], true, "{url}");
    }
}

/// The 2026-07-28 revision: no initialize, no session; the bridge derives
/// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` from each message's
/// `_meta`, which a strict TypeScript SDK v2 server checks. Both SDKs'
/// clients negotiate it (`server/discover` first); a client that insists on
/// the 2025 handshake gets the server's own refusal, relayed unchanged.
#[test]
fn stateless_2026_servers_work_through_the_bridge_with_both_sdks() {
    let h = Home::new();
    let secret = token("modern");
    let strict = start_ts_server(&[], &secret);
    let stateless_python = start_python_server(
        &[
            "--transport",
            "streamable_http",
            "--stateless",
            "--json-response",
        ],
        &secret,
    );
    h.vault("Work", "development");
    h.add("Work", &strict.url, "streamable_http", &secret);
    h.add("Work", &stateless_python.url, "streamable_http", &secret);
    let entries = connected(&h);

    let strict_entry = entry_for(&entries, &strict.url);
    for run in [
        ts_client(strict_entry, &["--tool", "whoami", "--negotiation", "auto"]),
        python_client(strict_entry, &["--tool", "whoami", "--negotiation", "auto"]),
    ] {
        assert!(run.ok, "{} {}", run.answer, run.stderr);
        assert_eq!(run.answer["protocol_version"], "2026-07-28");
        assert_eq!(run.answer["result"], sha256_hex(&secret));
    }
    let legacy = ts_client(
        strict_entry,
        &["--tool", "whoami", "--negotiation", "legacy"],
    );
    assert!(!legacy.ok);
    assert!(
        legacy.answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("Unsupported protocol version")),
        "the server's own answer: {}",
        legacy.answer
    );

    let python_entry = entry_for(&entries, &stateless_python.url);
    for negotiation in ["legacy", "auto"] {
        let run = python_client(
            python_entry,
            &[
                "--tool",
                "echo",
                "--args",
                r#"{"text": "über ✓"}"#,
                "--negotiation",
                negotiation,
            ],
        );
        assert!(run.ok, "{negotiation}: {}", run.answer);
        assert_eq!(run.answer["result"], "über ✓");
    }
}

fn error_of(run: &support::apps::ClientRun) -> String {
    assert!(!run.ok, "expected a failure: {}", run.answer);
    run.answer["error"].as_str().unwrap_or_default().to_string()
}

/// Every way a request can fail gives the app a JSON-RPC error in plain
/// words (and the bridge one line on stderr): wrong token, server down,
/// credential deleted, app disconnected, keychain unreachable.
#[test]
fn failures_reach_the_app_as_clear_errors() {
    let h = Home::new();
    let secret = token("failing");
    let server = start_mcp_server("streamable_http", &secret);
    h.vault("Work", "development");
    h.add(
        "Work",
        &server.url,
        "streamable_http",
        "tok_not_what_the_server_wants",
    );
    let entries = connected(&h);
    let entry = entry_for(&entries, &server.url).clone();

    let refused = python_client(&entry, &["--tool", "whoami"]);
    assert!(
        error_of(&refused).contains("refused the credential"),
        "{}",
        refused.answer
    );
    assert!(
        refused.stderr.contains("keybearer bridge:"),
        "{}",
        refused.stderr
    );

    // The right token now: the next start works.
    let id = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.run(&["credential", "replace", &id], &format!("{secret}\n"))
        .ok();
    assert!(python_client(&entry, &["--tool", "whoami"]).ok);

    // Keychain out of reach: the bridge cannot open tokens, and says so.
    let mut locked = entry.clone();
    locked.env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/bus".into(),
    ));
    let run = python_client(&locked, &["--tool", "whoami"]);
    assert!(error_of(&run).contains("keychain"), "{}", run.answer);

    // Credential deleted: refused at the next start.
    let id = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json()[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    h.run(&["credential", "delete", &id, "--yes"], "").ok();
    let gone = python_client(&entry, &["--tool", "whoami"]);
    assert!(error_of(&gone).contains("no credential"), "{}", gone.answer);

    // Disconnected: the entry is gone from the file, and a copy of it that
    // someone kept is refused.
    h.apps(&["apps", "disconnect", "claude-code"]).ok();
    assert!(h.claude_code_entries().is_empty());
    let stale = python_client(&entry, &["--tool", "whoami"]);
    assert!(
        error_of(&stale).contains("no longer connected"),
        "{}",
        stale.answer
    );

    // Server down.
    h.add("Work", &server.url, "streamable_http", &secret);
    let entries = connected(&h);
    drop(server);
    let down = python_client(&entries[0], &["--tool", "whoami"]);
    assert!(
        error_of(&down).contains("could not reach"),
        "{}",
        down.answer
    );
    h.assert_nowhere(&secret);
}

/// Two bridges at once (two apps, or two windows of one) both record every
/// use: nothing is lost to a busy database.
#[test]
fn two_bridges_recording_at_once_lose_no_use() {
    let h = Home::new();
    let secret = token("parallel");
    let server = start_mcp_server("streamable_http", &secret);
    h.vault("Work", "development");
    h.add("Work", &server.url, "streamable_http", &secret);
    let entries = connected(&h);
    let entry = entry_for(&entries, &server.url).clone();
    let count = |h: &Home| -> usize {
        let events: Value = h
            .run(&["--json", "events", "--limit", "1000"], "")
            .ok()
            .json();
        events
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "credential.used")
            .count()
    };
    let single = python_client(&entry, &["--tool", "whoami"]);
    assert!(single.ok);
    let per_run = count(&h);
    assert!(per_run > 0);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let entry = entry.clone();
            std::thread::spawn(move || python_client(&entry, &["--tool", "whoami"]).ok)
        })
        .collect();
    for thread in threads {
        assert!(thread.join().expect("client thread"));
    }
    assert_eq!(
        count(&h),
        per_run * 3,
        "every use of both bridges is recorded"
    );
}

/// The bridge a session gives an agent that lacks the server's transport
/// (Codex and SSE): no vault, no keychain, the Authorization value read
/// from a 0600 file of the session's folder — here the real token, as in
/// direct mode, for a legacy SSE server.
#[test]
fn a_session_bridge_relays_with_the_value_in_its_file() {
    let h = Home::new();
    let secret = token("fixed");
    let sse = start_mcp_server("sse", &secret);
    let file = h.path("old.headers");
    std::fs::write(&file, format!("Authorization: Bearer {secret}\n")).expect("write");
    let entry = support::apps::Entry {
        name: "old".into(),
        command: support::BIN.into(),
        args: vec![
            "bridge".into(),
            "--server".into(),
            sse.url.clone(),
            "--protocol".into(),
            "sse".into(),
            "--headers-file".into(),
            file.to_string_lossy().into_owned(),
        ],
        // No keychain and no data folder are reachable from here.
        env: vec![
            (
                "DBUS_SESSION_BUS_ADDRESS".into(),
                "unix:path=/nonexistent/bus".into(),
            ),
            ("KEYBEARER_HOME".into(), "/nonexistent/keybearer".into()),
        ],
    };
    let run = python_client(&entry, &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], sha256_hex(&secret));
    assert!(!run.stderr.contains(&secret));
    assert!(!Path::new("/nonexistent/keybearer").exists());
}
