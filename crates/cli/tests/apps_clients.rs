//! `keybearer apps connect` checked with the real clients, installed from npm
//! and pinned in `tests/agents`: Claude Code, Codex and the MCP Inspector
//! (Gemini CLI, opencode and Copilot CLI, which need a model, are in
//! `apps_clients_model.rs`). Each test connects one app in a
//! throwaway HOME, runs the client with HOME pointing there (so it reads the
//! file Keybearer wrote, and nothing else), and asserts what the client
//! itself reports.
//!
//! Every vault holds three servers from the official Python SDK
//! (`support/clients.rs`): Streamable HTTP and legacy SSE, which accept only
//! the stored token, and a third Streamable HTTP one that accepts another
//! token, so it answers the bridge with 401. The third must show as failed:
//! a client's "connected" therefore means the server saw the real token,
//! which only the bridge could have added. After each run, no file under the
//! throwaway HOME (every file, at any depth) and no client output holds the
//! token.
//!
//! No test needs the internet. Clients that have no offline health check get
//! a stand-in model on loopback (`StubModel`) or are driven through their own
//! local API (Codex's app server), so the MCP connection is still made by the
//! client's own code.

#![cfg(unix)]

mod support;

use serde_json::{json, Value};
use support::agents::{
    agent_bin, inspector_launcher, node22, run_client, server_name, ClientOutput, CodexAppServer,
};
use support::clients::{connected, Fixture};
use support::session::sha256_hex;
use support::stub_model::StubModel;

/// Claude Code's `claude mcp list` starts every configured server and
/// reports `✔ Connected` only after the MCP handshake succeeds;
/// `claude mcp get` does the same for one server.
#[test]
fn claude_code_health_checks_both_transports_through_the_entries() {
    let f = connected("claude-code");
    let settings = f.h.app_home().join(".claude.json");
    let stub = StubModel::start();
    let env = [
        ("ANTHROPIC_API_KEY", "dummy"),
        // Without it, `mcp list` spends ~18 s resolving api.anthropic.com first.
        ("ANTHROPIC_BASE_URL", stub.url.as_str()),
        ("DISABLE_AUTOUPDATER", "1"),
        ("DISABLE_TELEMETRY", "1"),
        ("DISABLE_ERROR_REPORTING", "1"),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
    ];
    let claude = agent_bin("claude");
    let list = run_client(&f.h, &claude, &["mcp", "list"], &env);
    assert_eq!(list.code, Some(0), "{}", list.text());

    for server in [&f.http, &f.sse] {
        let name = server_name(&settings, "mcpServers", &server.url);
        let line = list.line_with(&format!("{name}: "));
        assert!(line.contains(&server.url), "{line}");
        assert!(line.ends_with("✔ Connected"), "{}: {line}", server.url);
    }
    let refused = server_name(&settings, "mcpServers", &f.refused.url);
    let line = list.line_with(&format!("{refused}: "));
    assert!(line.contains("✘ Failed to connect"), "{line}");
    assert!(
        line.contains("(HTTP 401)"),
        "Keybearer's reason reaches the app: {line}"
    );

    let http = server_name(&settings, "mcpServers", &f.http.url);
    let get = run_client(&f.h, &claude, &["mcp", "get", &http], &env);
    assert_eq!(get.code, Some(0), "{}", get.text());
    assert!(
        get.line_with("Status:").contains("✔ Connected"),
        "{}",
        get.text()
    );
    assert!(
        get.line_with("Scope:").contains("User config"),
        "{}",
        get.text()
    );

    f.assert_token_nowhere(&Fixture::outputs(&[&list, &get]));
}

/// Codex reads `~/.codex/config.toml` (`codex mcp list --json`), and its app
/// server starts the servers with its own MCP client, lists their tools and
/// calls `whoami` (`mcpServer/tool/call`), which needs no model. The answer
/// is the SHA-256 of the token the server received.
#[test]
fn codex_starts_the_entries_and_calls_a_tool_through_its_app_server() {
    let f = connected("codex");
    let stub = StubModel::start();
    let env = [("OPENAI_API_KEY", "dummy")];

    let list = run_client(&f.h, &agent_bin("codex"), &["mcp", "list", "--json"], &env);
    assert_eq!(list.code, Some(0), "{}", list.text());
    let listed: Value = serde_json::from_str(&list.stdout).expect("codex mcp list --json");
    let name_of = |url: &str| -> String {
        let entry = listed
            .as_array()
            .expect("array")
            .iter()
            .find(|e| e["transport"]["args"].to_string().contains(url))
            .unwrap_or_else(|| panic!("codex does not list {url}: {listed}"));
        assert_eq!(entry["enabled"], true, "{entry}");
        assert_eq!(entry["transport"]["type"], "stdio", "{entry}");
        entry["name"].as_str().expect("name").to_string()
    };
    let (http, sse, refused) = (
        name_of(&f.http.url),
        name_of(&f.sse.url),
        name_of(&f.refused.url),
    );

    // The model provider points at the stub (thread/start pre-connects to
    // it); plugins are off because they are fetched from github.com.
    let base_url = format!("model_providers.stub.base_url=\"{}/v1\"", stub.url);
    let mut codex = CodexAppServer::start(
        &f.h,
        &[
            "--disable",
            "plugins",
            "-c",
            "analytics.enabled=false",
            "-c",
            "model_provider=\"stub\"",
            "-c",
            "model_providers.stub.name=\"stub\"",
            "-c",
            &base_url,
            "-c",
            "model_providers.stub.wire_api=\"responses\"",
            "-c",
            "model_providers.stub.env_key=\"OPENAI_API_KEY\"",
        ],
        &env,
    );
    let init = codex.request(
        "initialize",
        json!({"clientInfo": {"name": "keybearer-test", "version": "0"}}),
    );
    assert!(init["result"].is_object(), "{init}");
    codex.notify("initialized");
    let thread = codex.request("thread/start", json!({}));
    let thread_id = thread["result"]["thread"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("thread/start: {thread}"))
        .to_string();
    let statuses = codex.startup_statuses(&[&http, &sse, &refused]);

    for name in [&http, &sse] {
        let status = &statuses[name.as_str()];
        // Codex passes a stdio server only its env allow-list (HOME, PATH,
        // USER, …) plus the entry's `env` and `env_vars`: without
        // DBUS_SESSION_BUS_ADDRESS the bridge cannot reach the Secret Service.
        assert_eq!(
            status["status"], "ready",
            "{name} did not start under Codex: {status}\n(if this is \
             keychain_unavailable, the Codex entry lacks \
             env_vars = [\"DBUS_SESSION_BUS_ADDRESS\"])"
        );
        let call = codex.request(
            "mcpServer/tool/call",
            json!({"threadId": thread_id, "server": name, "tool": "whoami", "arguments": {}}),
        );
        assert_eq!(call["result"]["isError"], false, "{name}: {call}");
        assert_eq!(
            call["result"]["structuredContent"]["result"],
            sha256_hex(&f.secret),
            "{name}: {call}"
        );
    }
    let inventory = codex.request("mcpServerStatus/list", json!({"threadId": thread_id}));
    for name in [&http, &sse] {
        let server = inventory["result"]["data"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["name"] == name.as_str()))
            .unwrap_or_else(|| panic!("{name} not in {inventory}"));
        assert!(server["tools"]["whoami"].is_object(), "{server}");
    }
    let status = &statuses[refused.as_str()];
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["error"]
            .as_str()
            .unwrap_or_default()
            .contains("(HTTP 401)"),
        "{status}"
    );

    let transcript = codex.transcript.clone();
    let stderr = codex.stop();
    let mut outputs = Fixture::outputs(&[&list]);
    outputs.extend([transcript.as_str(), stderr.as_str()]);
    f.assert_token_nowhere(&outputs);
}

/// The MCP Inspector's CLI (Node 22) calls `whoami` through Claude Desktop's
/// entries: once with the entry's command, arguments and env given on its
/// command line, once reading Keybearer's file itself (`--config`). It
/// passes a stdio server only the SDK's default environment plus `-e`, so
/// the Secret Service's bus address is given with `-e` as well.
#[test]
fn mcp_inspector_calls_whoami_through_claude_desktop_entries() {
    let f = connected("claude-desktop");
    let settings =
        f.h.app_home()
            .join(".config/Claude/claude_desktop_config.json");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(&settings).expect("claude_desktop_config.json"),
    )
    .expect("JSON");
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("the test session bus");
    let bus_env = format!("DBUS_SESSION_BUS_ADDRESS={bus}");
    let node = node22();
    let launcher = inspector_launcher();
    let launcher = launcher.to_str().expect("path");
    let digest = sha256_hex(&f.secret);
    let mut runs = Vec::new();

    for server in [&f.http, &f.sse, &f.refused] {
        let name = server_name(&settings, "mcpServers", &server.url);
        let entry = &config["mcpServers"][name.as_str()];
        let mut args = vec![launcher.to_string(), "--cli".into()];
        for (key, value) in entry["env"].as_object().expect("env") {
            args.push("-e".into());
            args.push(format!("{key}={}", value.as_str().expect("string")));
        }
        args.extend(["-e".into(), bus_env.clone()]);
        args.extend(["--method", "tools/call", "--tool-name", "whoami", "--"].map(String::from));
        args.push(entry["command"].as_str().expect("command").to_string());
        args.extend(
            entry["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("string").to_string()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let direct = run_client(&f.h, &node, &args, &[]);

        let from_file = run_client(
            &f.h,
            &node,
            &[
                launcher,
                "--cli",
                "--config",
                settings.to_str().expect("path"),
                "--server",
                &name,
                "-e",
                &bus_env,
                "--method",
                "tools/call",
                "--tool-name",
                "whoami",
            ],
            &[],
        );
        for run in [&direct, &from_file] {
            if server.url == f.refused.url {
                assert_ne!(run.code, Some(0), "{}", run.text());
                assert!(run.text().contains("(HTTP 401)"), "{}", run.text());
            } else {
                assert_eq!(run.code, Some(0), "{}: {}", server.url, run.text());
                let answer: Value = serde_json::from_str(&run.stdout)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.text()));
                assert_eq!(answer["isError"], false, "{answer}");
                assert_eq!(answer["structuredContent"]["result"], digest, "{answer}");
            }
        }
        runs.push(direct);
        runs.push(from_file);
    }
    let refs: Vec<&ClientOutput> = runs.iter().collect();
    f.assert_token_nowhere(&Fixture::outputs(&refs));
}
