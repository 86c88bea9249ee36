//! Where `keybearer bridge` sends the credential on a legacy SSE server: only
//! to the message endpoint the rule shared with the proxy and the connection
//! test allows (the server's own origin, in the folder of its address;
//! docs/architecture.md, "Where a credential may go"). Tried as a hostile or
//! compromised server on a shared host would: its event stream names
//! another tenant's path of the same origin. The server records what it
//! received, so "no credential" is what it saw, not what we assume. A real
//! SDK server mounted under a folder still works.

#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use support::apps::{entry_for, python_client, Entry};
use support::session::{sha256_hex, start_endpoint_server, start_python_server, token, Home};

/// How long an answer may take; the old bridge never answered at all.
const ANSWER_WAIT: Duration = Duration::from_secs(15);

fn connected(h: &Home) -> Vec<Entry> {
    h.apps(&["apps", "connect", "claude-code", "--vault", "Work"])
        .ok();
    h.claude_code_entries()
}

/// The bridge an entry names, started as the app starts it, its stdout
/// read line by line on a thread of its own.
struct Bridge {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Bridge {
    fn start(entry: &Entry) -> Self {
        let mut command = Command::new(&entry.command);
        command
            .args(&entry.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &entry.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("keybearer bridge");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Writes one JSON-RPC message, as an app does.
    fn send(&mut self, message: &Value) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{message}").expect("write to the bridge");
        stdin.flush().expect("flush");
    }

    fn answer(&self) -> Option<Value> {
        let line = self.lines.recv_timeout(ANSWER_WAIT).ok()?;
        Some(serde_json::from_str(&line).expect("the bridge writes JSON lines"))
    }

    /// Ends stdin, as an app that quits; returns the exit status and stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        drop(self.child.stdin.take());
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr)
                .expect("the bridge's stderr");
        }
        let status = self.child.wait().expect("wait for the bridge");
        (status, stderr)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the endpoint server recorded.
#[derive(Debug)]
struct Seen {
    method: String,
    path: String,
    /// It carried an Authorization header.
    credential: bool,
}

fn seen(record: &std::path::Path) -> Vec<Seen> {
    let text = std::fs::read_to_string(record).unwrap_or_default();
    text.lines()
        .map(|line| {
            let request: Value = serde_json::from_str(line).expect("record line");
            Seen {
                method: request["method"].as_str().unwrap_or_default().to_string(),
                path: request["path"].as_str().unwrap_or_default().to_string(),
                credential: request["authorization"] == true,
            }
        })
        .collect()
}

fn initialize(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "endpoint-test", "version": "1"}}})
}

#[test]
fn an_endpoint_on_another_tenants_path_gets_no_credential() {
    let h = Home::new();
    let secret = token("tenant_a");
    let record = h.path("requests.jsonl");
    let server =
        start_endpoint_server("/tenant-a/sse", "/tenant-b/messages/?session_id=1", &record);
    h.vault("Work", "development");
    h.add("Work", &server.url, "sse", &secret);
    let entries = connected(&h);
    let mut bridge = Bridge::start(entry_for(&entries, &server.url));

    bridge.send(&initialize(1));
    let first = bridge.answer();
    // The next message opens the stream again, and is refused again: the
    // bridge stays up and keeps answering.
    bridge.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let second = bridge.answer();
    let (status, stderr) = bridge.finish();

    let requests = seen(&record);
    assert!(
        requests
            .iter()
            .filter(|r| r.credential)
            .all(|r| r.path == "/tenant-a/sse"),
        "the credential went to another tenant's path: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.credential && r.method == "GET" && r.path == "/tenant-a/sse"),
        "the stream itself, at the credential's address, got it: {requests:?}"
    );
    assert!(
        requests.iter().all(|r| !r.path.starts_with("/tenant-b/")),
        "nothing at all was sent to the other path: {requests:?}"
    );

    for (id, answer) in [(1, first), (2, second)] {
        let answer = answer.unwrap_or_else(|| panic!("no answer to request {id}"));
        assert_eq!(answer["id"], id, "{answer}");
        assert_eq!(
            answer["error"]["data"]["keybearer"], "endpoint_refused",
            "{answer}"
        );
        let message = answer["error"]["message"].as_str().expect("message");
        assert!(
            message.contains("/tenant-b/messages/")
                && message.contains("outside /tenant-a/")
                && message.contains("did not send the credential"),
            "{message}"
        );
        assert!(!message.contains(&secret));
    }
    assert!(status.success(), "the bridge ends cleanly: {stderr}");
    assert!(
        stderr.contains("keybearer bridge:") && stderr.contains("/tenant-b/messages/"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret));
    h.assert_nowhere(&secret);
}

/// The rule does not get in the way of a real server under a folder: the
/// official SDK, mounted at `/tenant-a`, announces `/tenant-a/messages/`.
#[test]
fn a_real_server_mounted_under_a_folder_works_through_the_bridge() {
    let h = Home::new();
    let secret = token("mounted");
    let server = start_python_server(&["--transport", "sse", "--mount", "/tenant-a"], &secret);
    assert!(server.url.ends_with("/tenant-a/sse"), "{}", server.url);
    h.vault("Work", "development");
    h.add("Work", &server.url, "sse", &secret);
    let entries = connected(&h);
    let run = python_client(entry_for(&entries, &server.url), &["--tool", "whoami"]);
    assert!(run.ok, "{} {}", run.answer, run.stderr);
    assert_eq!(run.answer["result"], sha256_hex(&secret));
    assert!(!run.stderr.contains(&secret));
}
