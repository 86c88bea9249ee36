//! How fast an app's server comes up through the stdio bridge: from spawning
//! `keybearer bridge` to its first answer (an MCP `initialize`), side by side
//! with `mcp-remote` (npm, what most Claude Desktop users run) against the
//! same server (the official Python SDK's, streamable HTTP) in the same run,
//! interleaved so drift hits both alike. Reports median and p90, and the
//! ratio. The bridge runs exactly as an app starts it (the entry that
//! `keybearer apps connect` wrote), so it includes opening the database and
//! reading the key from the keychain.
//!
//!     make bench        (installs mcp-remote under tests/bench-peers)
//!
//! Needs the private Secret Service (`scripts/with-secret-service.sh`).
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark's report is its output

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_keybearer");
const RUNS: usize = 20;
const WARM_UP: usize = 2;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn keybearer(data: &Path, home: &Path, args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "keybearer {args:?} failed");
    String::from_utf8(output.stdout).unwrap()
}

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(token: &str) -> Server {
    let mut child = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/mcp-peers/server.py"))
        .args(["--transport", "streamable_http", "--port", "0"])
        .env("MCP_TEST_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run scripts/setup-mcp-venv.sh first");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = serde_json::from_str::<Value>(&line).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    Server(child, url)
}

/// Spawn → the first line on stdout (the initialize answer).
fn first_answer(mut command: Command) -> Duration {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INITIALIZE}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        line.contains("\"result\""),
        "not an initialize answer: {line}"
    );
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn stats(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 9 / 10]),
    )
}

fn main() {
    if std::env::var("KEYBEARER_KEYRING_SESSION").as_deref() != Ok("ready") {
        println!("bridge_start: run under scripts/with-secret-service.sh (make bench does)");
        std::process::exit(1);
    }
    let mcp_remote = repo().join("tests/bench-peers/node_modules/mcp-remote/dist/proxy.js");
    assert!(
        mcp_remote.exists(),
        "npm ci --prefix tests/bench-peers first (make bench does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (data, home) = (dir.path().join("data"), dir.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    let token = format!("tok_bench_{}", std::process::id());
    let server = start_server(&token);
    keybearer(&data, &home, &["init"], "");
    keybearer(
        &data,
        &home,
        &["vault", "create", "Bench", "--env", "development"],
        "",
    );
    keybearer(
        &data,
        &home,
        &["credential", "add", "--vault", "Bench", "--url", &server.1],
        &format!("{token}\n"),
    );
    keybearer(
        &data,
        &home,
        &["apps", "connect", "cursor", "--vault", "Bench"],
        "",
    );
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join(".cursor/mcp.json")).unwrap())
            .unwrap();
    let entry = settings["mcpServers"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    let bridge = || {
        let mut command = Command::new(entry["command"].as_str().unwrap());
        for arg in entry["args"].as_array().unwrap() {
            command.arg(arg.as_str().unwrap());
        }
        for (key, value) in entry["env"].as_object().into_iter().flatten() {
            command.env(key, value.as_str().unwrap());
        }
        command.env("HOME", &home);
        command
    };
    let remote = || {
        let mut command = Command::new("node");
        command
            .arg(&mcp_remote)
            .arg(&server.1)
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .env("HOME", &home);
        command
    };
    for _ in 0..WARM_UP {
        first_answer(bridge());
        first_answer(remote());
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        ours.push(first_answer(bridge()));
        theirs.push(first_answer(remote()));
    }
    let (ours_p50, ours_p90) = stats(ours);
    let (theirs_p50, theirs_p90) = stats(theirs);
    println!("spawn → first answer (initialize), {RUNS} runs each, interleaved:");
    println!("  keybearer bridge   p50 {ours_p50:7.1} ms   p90 {ours_p90:7.1} ms");
    println!("  mcp-remote         p50 {theirs_p50:7.1} ms   p90 {theirs_p90:7.1} ms");
    println!(
        "  mcp-remote / bridge at p50: {:.1}x",
        theirs_p50 / ours_p50.max(f64::EPSILON)
    );
}
