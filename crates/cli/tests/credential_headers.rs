//! Header credentials end to end: `X-API-Key` and two headers at once, and
//! HTTP Basic, added with the real CLI (values on stdin, never argv), used
//! through a session's proxy and through an app's bridge against the
//! official Python SDK server demanding exactly those headers; bad names and
//! values refused with a clear message and nothing stored; direct mode
//! writes the headers into the agent's private config.

#![cfg(unix)]

mod support;

use serde_json::Value;
use support::apps::{entry_for, python_client};
use support::session::{
    read, repo_root, sha256_hex, start_peer_with_headers, token, venv_python, Home,
};

fn lines(headers: &[(&str, &str)]) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A custom agent that runs the official client with the session's config
/// and leaves its answer (and its config) in `out`.
fn client_agent(h: &Home) -> (String, std::path::PathBuf) {
    let out = h.path("agent.out");
    std::fs::create_dir_all(&out).expect("out");
    let agent = h.script(
        "agent.sh",
        &format!(
            r#"cat "$KEYBEARER_MCP_CONFIG" > '{out}/config'
'{python}' '{client}' --config "$KEYBEARER_MCP_CONFIG" --tool whoami > '{out}/result' || exit 3"#,
            out = out.display(),
            python = venv_python().display(),
            client = repo_root().join("tests/mcp-peers/client.py").display(),
        ),
    );
    (agent, out)
}

#[test]
fn two_headers_reach_the_server_through_the_proxy_and_the_bridge() {
    let h = Home::new();
    let key = token("key");
    let org = token("org");
    let headers = [("X-API-Key", key.as_str()), ("X-Org", org.as_str())];
    let server = start_peer_with_headers(&headers);
    h.vault("Work", "development");
    let added = h
        .run(
            &[
                "--json",
                "credential",
                "add",
                "--vault",
                "Work",
                "--url",
                &server.url,
                "--header",
                "X-API-Key",
                "--header",
                "X-Org",
            ],
            &format!("{key}\n{org}\n"),
        )
        .ok()
        .json();
    assert_eq!(added["type"], "headers");
    assert_eq!(
        added["header_names"],
        serde_json::json!(["X-API-Key", "X-Org"])
    );
    let listed = h.run(&["credential", "list", "--vault", "Work"], "").ok();
    assert!(
        listed.stdout.contains("headers: X-API-Key, X-Org"),
        "{}",
        listed.stdout
    );
    let expected = sha256_hex(&lines(&headers));

    // Through a session's proxy: the agent holds only the session secret.
    let (agent, out) = client_agent(&h);
    h.run(
        &[
            "session", "start", "--vault", "Work", "--agent", "custom", "--", &agent,
        ],
        "",
    )
    .code(0);
    let result: Value = serde_json::from_str(&read(&out.join("result"))).expect("client JSON");
    assert_eq!(result["result"], expected.as_str(), "{result}");
    let config = read(&out.join("config"));
    assert!(!config.contains(&key) && !config.contains(&org));

    // Through an app's bridge.
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    let entries = h.claude_code_entries();
    let run = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], expected.as_str());

    // Replaced: the same header names, new values.
    let id = added["id"].as_str().expect("id");
    let new_key = token("key2");
    h.run(
        &["credential", "replace", id],
        &format!("{new_key}\n{org}\n"),
    )
    .ok();
    let run = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(!run.ok, "the server wants the old key: {}", run.answer);
    h.assert_nowhere(&key);
    h.assert_nowhere(&org);
    h.assert_nowhere(&new_key);
}

#[test]
fn basic_reaches_the_server_and_direct_mode_writes_the_header() {
    let h = Home::new();
    // Direct mode, approved as a person at the app's dialog would.
    h.approve_direct_sessions();
    let password = token("password");
    let basic = {
        use std::io::Write;
        let mut child = std::process::Command::new("base64")
            .arg("-w0")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("base64");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("me@example.com:{password}").as_bytes())
            .expect("write");
        let output = child.wait_with_output().expect("base64 output");
        format!("Basic {}", String::from_utf8_lossy(&output.stdout))
    };
    let server = start_peer_with_headers(&[("Authorization", &basic)]);
    h.vault("Work", "development");
    h.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &server.url,
            "--basic",
            "me@example.com",
        ],
        &format!("{password}\n"),
    )
    .ok();
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    let entries = h.claude_code_entries();
    let run = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(
        run.answer["result"],
        sha256_hex(&format!("Authorization: {basic}"))
    );

    // Direct mode: the header goes into the agent's private config as is.
    let (agent, out) = client_agent(&h);
    h.run(
        &[
            "session", "start", "--vault", "Work", "--agent", "custom", "--direct", "--", &agent,
        ],
        "",
    )
    .code(0);
    let config: Value = serde_json::from_str(&read(&out.join("config"))).expect("config");
    let server_config = config["mcpServers"]
        .as_object()
        .expect("servers")
        .values()
        .next()
        .expect("one");
    assert_eq!(server_config["headers"]["Authorization"], basic.as_str());
    let result: Value = serde_json::from_str(&read(&out.join("result"))).expect("client JSON");
    assert_eq!(result["ok"], true, "{result}");
    h.assert_nowhere(&password);
}

#[test]
fn bad_headers_are_refused_and_nothing_is_stored() {
    let h = Home::new();
    h.vault("Work", "development");
    let url = "https://mcp.example.com/mcp";
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["--header", "Host"],
            "v\n",
            "sets the \"Host\" header itself",
        ),
        (
            &["--header", "Content-Type"],
            "v\n",
            "sets the \"Content-Type\" header itself",
        ),
        (&["--header", "bad name"], "v\n", "not a valid header name"),
        (&["--header", "X-API-Key"], "a\nb\n", "one value per header"),
        (&["--header", "X-API-Key"], "tök\n", "only plain ASCII"),
    ];
    for (args, stdin, message) in cases {
        let mut all = vec!["credential", "add", "--vault", "Work", "--url", url];
        all.extend_from_slice(args);
        let run = h.run(&all, stdin).code(2);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    let listed = h
        .run(&["--json", "credential", "list", "--vault", "Work"], "")
        .ok()
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(0));
}
