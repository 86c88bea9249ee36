//! The command line from a new data folder to an app's working bridge, on
//! every system the tests run on: Linux, and the Windows build under Wine
//! (scripts/windows-test.sh, part of `make test`). `init` puts the key in the
//! system's keychain (Secret Service; Windows Credential Manager) → a vault →
//! a credential → `credential test` against a real MCP server (official
//! Python SDK on 127.0.0.1) → `apps connect cursor` in a throwaway home →
//! the entry started as Cursor would start it, spoken to over its stdio:
//! initialize, tools/list, tools/call `whoami` (the server's hash of the
//! token it received). The settings file names the program by a path an app
//! can start (on Windows without the `\\?\` form) and holds no token.

#![allow(clippy::print_stderr)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::peers::{sha256_hex, start_mcp_server};
use support::{random_token, Vault};

#[test]
fn from_init_to_an_apps_bridge_with_the_token_added() {
    let v = Vault::new();
    v.init();
    v.create_vault("Work", "development");
    let token = random_token("smoke");
    let server = start_mcp_server("streamable_http", &token);
    let added = v.add("Work", &server.url, &token).ok().json();
    let id = added["id"].as_str().expect("credential id").to_string();

    let tested = v
        .run(&["--json", "credential", "test", &id], "")
        .ok()
        .json();
    assert_eq!(tested[0]["outcome"], "ok", "{tested}");

    let home = v.dir.path().join("home");
    let settings = home.join(".cursor").join("mcp.json");
    std::fs::create_dir_all(settings.parent().expect("folder")).expect("folder");
    std::fs::write(&settings, "{\n  \"mcpServers\": {}\n}\n").expect("settings");
    let mut connect = v.command(&["apps", "connect", "cursor", "--vault", "Work"]);
    connect
        .env("HOME", &home)
        .env("USERPROFILE", &home)
        .env_remove("APPDATA")
        .env_remove("XDG_CONFIG_HOME");
    let connected = connect.output().expect("apps connect");
    assert!(
        connected.status.success(),
        "{}",
        String::from_utf8_lossy(&connected.stderr)
    );

    let text = std::fs::read_to_string(&settings).expect("settings");
    assert!(!text.contains(&token), "the token is in the app's settings");
    let config: Value = serde_json::from_str(&text).expect("settings are JSON");
    let servers = config["mcpServers"].as_object().expect("mcpServers");
    assert_eq!(servers.len(), 1, "{text}");
    let entry = servers.values().next().expect("entry");
    let program = entry["command"].as_str().expect("command");
    assert!(
        !program.starts_with(r"\\?\"),
        "the app would be told to start {program}"
    );
    assert!(
        std::path::Path::new(program).is_file(),
        "{program} is not a file"
    );

    let args: Vec<&str> = entry["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|arg| arg.as_str().expect("argument"))
        .collect();
    let mut bridge = Command::new(program);
    bridge.args(&args);
    for (key, value) in entry["env"].as_object().into_iter().flatten() {
        bridge.env(key, value.as_str().expect("env value"));
    }
    let mut child = bridge
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bridge starts");
    let mut app = App {
        input: child.stdin.take().expect("stdin"),
        output: BufReader::new(child.stdout.take().expect("stdout")),
    };
    let init = app.call(
        1,
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "smoke", "version": "1"}
        }),
    );
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    app.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let tools = app.call(2, "tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert!(names.contains(&"whoami"), "{tools}");
    let who = app.call(3, "tools/call", json!({"name": "whoami", "arguments": {}}));
    assert_eq!(
        who["result"]["content"][0]["text"],
        sha256_hex(&token),
        "{who}"
    );

    drop(app);
    let output = child.wait_with_output().expect("bridge ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(&token), "the bridge printed the token");
    let transcript = v.transcript.lock().expect("transcript");
    assert!(!transcript.contains(&token), "the CLI printed the token");
}

/// The app's end of the bridge: newline-delimited JSON-RPC.
struct App {
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

impl App {
    fn send(&mut self, message: Value) {
        writeln!(self.input, "{message}").expect("write to the bridge");
        self.input.flush().expect("flush");
    }

    /// Sends a request and returns its answer, passing over notifications.
    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            let read = self.output.read_line(&mut line).expect("read the bridge");
            assert!(
                read > 0,
                "the bridge closed its output before answering {method}"
            );
            let message: Value = serde_json::from_str(&line).expect("the bridge sends JSON");
            if message["id"] == id {
                return message;
            }
        }
    }
}

/// `session start` run from a script (input that is not a terminal): the
/// agent runs — on Windows in its Job Object with a hidden console of its
/// own — and the command exits with the agent's code; the session is on
/// record as exited.
#[test]
fn a_session_started_from_a_script_ends_with_the_agents_code() {
    let v = Vault::new();
    v.init();
    v.create_vault("Work", "development");
    // The agent never calls it: a server to configure.
    v.add(
        "Work",
        "https://mcp.example.com/mcp",
        &random_token("session"),
    )
    .ok();
    #[cfg(windows)]
    let agent = ["cmd.exe", "/d", "/c", "exit 3"];
    #[cfg(not(windows))]
    let agent = ["sh", "-c", "exit 3"];
    let mut args = vec![
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "custom",
        "--no-sandbox",
        "--",
    ];
    args.extend(agent);
    let run = v.run(&args, "").code(3);
    assert!(run.stderr.contains("NOT sandboxed"), "{}", run.stderr);
    let listed = v.run(&["--json", "session", "list"], "").ok().json();
    let session = &listed[0];
    assert_eq!(session["state"], "exited", "{listed}");
    assert_eq!(session["code"], 3, "{listed}");
}
