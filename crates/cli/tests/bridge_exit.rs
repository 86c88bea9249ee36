//! How `keybearer bridge` ends, driven by hand over its stdin as an app
//! would drive it, against the Python SDK's Streamable HTTP server (which
//! offers the GET stream the bridge keeps open for the server's messages):
//! - when the app closes stdin, the bridge is gone before the app gives up
//!   waiting (the Python SDK sends SIGTERM after 2 s): a GET stream reopened
//!   after that point renewed an expiring grant in a process about to die,
//!   and the rotated refresh token was lost with it;
//! - SIGTERM (how apps stop a server they started) ends it the same way as
//!   the end of stdin: a clean exit, not death by signal, so a grant being
//!   renewed at that moment is stored first;
//! - a request still waiting for its answer when the app leaves carried the
//!   token all the same: its use is in the trail (without a status).

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use support::apps::{entry_for, Entry};
use support::session::{start_python_server, token, Home};

/// How long the Python SDK's stdio client waits for a server to exit after
/// closing its stdin, before it sends SIGTERM.
const APP_PATIENCE: Duration = Duration::from_secs(2);

struct Bridge {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bridge of `entry`, initialized (so it has opened its GET stream).
fn initialized(entry: &Entry) -> Bridge {
    let mut command = Command::new(&entry.command);
    command
        .args(&entry.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in &entry.env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("bridge");
    let stdin = child.stdin.take();
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut bridge = Bridge {
        child,
        stdin,
        stdout,
    };
    bridge.send(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
    );
    let mut answer = String::new();
    bridge.stdout.read_line(&mut answer).expect("answer");
    assert!(answer.contains("\"result\""), "{answer}");
    bridge.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    bridge.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
    let mut listed = String::new();
    bridge.stdout.read_line(&mut listed).expect("tools");
    assert!(listed.contains("whoami"), "{listed}");
    bridge
}

impl Bridge {
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write");
        stdin.write_all(b"\n").expect("write");
        stdin.flush().expect("flush");
    }

    /// Waits up to `limit` for the process to end.
    fn ended_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn connected_bridge() -> (Home, support::session::McpServer, Bridge) {
    connected_bridge_over(&["--transport", "streamable_http"])
}

/// A bridge to the Python SDK server started with `args`.
fn connected_bridge_over(args: &[&str]) -> (Home, support::session::McpServer, Bridge) {
    let h = Home::new();
    let secret = token("exit");
    let server = start_python_server(args, &secret);
    let transport = args[1];
    h.vault("Work", "development");
    h.add("Work", &server.url, transport, &secret);
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    let entries = h.claude_code_entries();
    let bridge = initialized(entry_for(&entries, &server.url));
    (h, server, bridge)
}

#[test]
fn the_bridge_is_gone_before_the_app_stops_waiting_for_it() {
    let (_h, _server, mut bridge) = connected_bridge();
    // Let the GET stream open.
    std::thread::sleep(Duration::from_millis(500));
    drop(bridge.stdin.take());
    let status = bridge.ended_within(APP_PATIENCE);
    assert!(
        status.is_some_and(|status| status.success()),
        "still running {} s after its input ended ({status:?})",
        APP_PATIENCE.as_secs()
    );
}

#[test]
fn sigterm_ends_the_bridge_cleanly() {
    let (_h, _server, mut bridge) = connected_bridge();
    std::thread::sleep(Duration::from_millis(500));
    let killed = Command::new("kill")
        .args(["-TERM", &bridge.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = bridge.ended_within(Duration::from_secs(10));
    // Death by the signal has no exit code; a handled stop exits 0.
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{status:?}"
    );
}

/// The app's uses in the trail: (method, status, note) of each `credential.used`.
fn uses(h: &Home) -> Vec<(String, Option<i64>, String)> {
    let events = h
        .run(&["--json", "events", "--limit", "100"], "")
        .ok()
        .json();
    events
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "credential.used" && e["connection_id"].is_string())
        .map(|e| {
            (
                e["method"].as_str().unwrap_or_default().to_string(),
                e["status"].as_i64(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `unanswered`: the call's answer had not begun when the app left, so its
/// use is recorded without a status and says so.
fn leaving_mid_call_is_recorded(args: &[&str], unanswered: bool) {
    let (h, _server, mut bridge) = connected_bridge_over(args);
    std::thread::sleep(Duration::from_millis(300));
    let posts_before = uses(&h).iter().filter(|(m, ..)| m == "POST").count();
    bridge.send(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow","arguments":{"seconds":30}}}"#,
    );
    // The call is on its way to the server (which answers in 30 s).
    std::thread::sleep(Duration::from_millis(500));
    drop(bridge.stdin.take());
    let status = bridge.ended_within(APP_PATIENCE);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let after = uses(&h);
    let posts_after = after.iter().filter(|(m, ..)| m == "POST").count();
    assert!(
        posts_after > posts_before,
        "{args:?}: the tools/call the app left behind carried the token; its use is missing from the trail ({posts_before} POST uses before, {posts_after} after: {after:?})"
    );
    if unanswered {
        assert!(
            after.iter().any(|(m, status, note)| m == "POST"
                && status.is_none()
                && note.contains("no answer")),
            "{after:?}"
        );
    }
}

/// The answer's head comes with the result (a JSON answer): nothing came
/// back when the app left.
#[test]
fn a_call_in_flight_when_the_app_leaves_is_recorded_json_answers() {
    leaving_mid_call_is_recorded(&["--transport", "streamable_http", "--json-response"], true);
}

/// The answer is an event stream: its head came back at once.
#[test]
fn a_call_in_flight_when_the_app_leaves_is_recorded_event_stream_answers() {
    leaving_mid_call_is_recorded(&["--transport", "streamable_http"], false);
}

/// The answer comes on the SSE stream; the bridge must also end in time.
#[test]
fn a_call_in_flight_when_the_app_leaves_is_recorded_sse() {
    leaving_mid_call_is_recorded(&["--transport", "sse"], false);
}
