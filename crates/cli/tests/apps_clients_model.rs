//! `keybearer apps connect` checked with the real clients that start their
//! MCP servers only when they have a model: Gemini CLI, opencode and Copilot
//! CLI, installed from npm and pinned in `tests/agents`, each given a
//! stand-in model on loopback (`StubModel`), so the MCP connection is still
//! made by the client's own code. As in `apps_clients.rs` (which has the
//! clients with a health check of their own): one app connected in a
//! throwaway HOME, the client run with HOME pointing there, what it reports
//! asserted, and no file under that HOME and no output holding the token.

#![cfg(unix)]

mod support;

use serde_json::Value;
use support::agents::{agent_bin, run_client, server_name};
use support::clients::{connected, Fixture};
use support::session::sha256_hex;
use support::stub_model::{tool_names, StubModel};

/// Gemini CLI's `gemini mcp list` connects to each server and prints
/// `✓ NAME: … - Connected` (the folder must be trusted, or it lists
/// user-level servers as disabled).
#[test]
fn gemini_cli_reports_the_entries_connected() {
    let f = connected("gemini-cli");
    let settings = f.h.app_home().join(".gemini/settings.json");
    let env = [
        ("GEMINI_API_KEY", "dummy"),
        ("GEMINI_CLI_TRUST_WORKSPACE", "true"),
    ];
    let list = run_client(&f.h, &agent_bin("gemini"), &["mcp", "list"], &env);
    assert_eq!(list.code, Some(0), "{}", list.text());

    for server in [&f.http, &f.sse] {
        let name = server_name(&settings, "mcpServers", &server.url);
        let line = list.line_with(&format!(" {name}: "));
        assert!(line.starts_with("✓ "), "{line}");
        assert!(line.ends_with("(stdio) - Connected"), "{line}");
    }
    let refused = server_name(&settings, "mcpServers", &f.refused.url);
    let line = list.line_with(&format!(" {refused}: "));
    assert!(
        line.starts_with("✗ ") && line.ends_with("- Disconnected"),
        "{line}"
    );

    f.assert_token_nowhere(&Fixture::outputs(&[&list]));
}

/// opencode's `opencode mcp list` connects to each server and prints
/// `✓ NAME connected`, or `✗ NAME failed` with the server's error.
#[test]
fn opencode_reports_the_entries_connected() {
    let f = connected("opencode");
    let settings = f.h.app_home().join(".config/opencode/opencode.json");
    // opencode installs `@opencode-ai/plugin` into its config folder in the
    // background on every start, from the npm registry: point that at the
    // stub (the install fails on loopback, which does not affect MCP).
    let stub = StubModel::start();
    let env = [
        ("npm_config_registry", stub.url.as_str()),
        ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
        ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
        ("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1"),
        ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
        ("OPENCODE_DISABLE_SHARE", "1"),
        ("OPENCODE_DISABLE_CLAUDE_CODE", "1"),
        ("OPENCODE_DISABLE_EXTERNAL_SKILLS", "1"),
    ];
    // --pure: no external plugins (they are installed from npm at start).
    let list = run_client(
        &f.h,
        &agent_bin("opencode"),
        &["mcp", "list", "--pure"],
        &env,
    );
    assert_eq!(list.code, Some(0), "{}", list.text());

    for server in [&f.http, &f.sse] {
        let name = server_name(&settings, "mcp", &server.url);
        let line = list.line_with(&format!(" {name} "));
        assert!(line.contains(&format!("✓ {name} connected")), "{line}");
    }
    let refused = server_name(&settings, "mcp", &f.refused.url);
    assert!(
        list.line_with(&format!(" {refused} "))
            .contains(&format!("✗ {refused} failed")),
        "{}",
        list.text()
    );
    assert!(
        list.line_with("MCP error -32000").contains("(HTTP 401)"),
        "{}",
        list.text()
    );

    f.assert_token_nowhere(&Fixture::outputs(&[&list]));
}

/// Copilot CLI has no health check (`copilot mcp list` only reads the file),
/// but in offline mode with a BYOK provider it needs no GitHub login: one
/// `copilot -p` turn against the stub model connects every server, offers
/// their tools, and the stub calls each `whoami`. The results come back
/// through Copilot's own MCP client into the next request and its output.
#[test]
fn copilot_cli_calls_whoami_through_the_entries_with_a_local_model() {
    let f = connected("copilot-cli");
    let settings = f.h.app_home().join(".copilot/mcp-config.json");
    let copilot = agent_bin("copilot");
    let stub = StubModel::start();
    let provider = format!("{}/v1", stub.url);
    let env = [
        ("COPILOT_OFFLINE", "true"),
        ("COPILOT_PROVIDER_BASE_URL", provider.as_str()),
        ("COPILOT_PROVIDER_API_KEY", "dummy"),
        ("COPILOT_MODEL", "stub-model"),
        ("COPILOT_AUTO_UPDATE", "false"),
        ("NO_COLOR", "1"),
    ];

    let list = run_client(&f.h, &copilot, &["mcp", "list", "--json"], &env);
    assert_eq!(list.code, Some(0), "{}", list.text());
    let listed: Value = serde_json::from_str(&list.stdout).expect("copilot mcp list --json");
    let (http, sse, refused) = (
        server_name(&settings, "mcpServers", &f.http.url),
        server_name(&settings, "mcpServers", &f.sse.url),
        server_name(&settings, "mcpServers", &f.refused.url),
    );
    for name in [&http, &sse, &refused] {
        let entry = &listed["mcpServers"][name.as_str()];
        assert_eq!(entry["enabled"], true, "{name}: {listed}");
        assert_eq!(entry["source"], "user", "{name}: {listed}");
    }

    let turn = run_client(
        &f.h,
        &copilot,
        &[
            "-p",
            "Call every whoami tool.",
            "--allow-all-tools",
            "--silent",
            "--no-auto-update",
            "--disable-client-telemetry",
        ],
        &env,
    );
    assert_eq!(turn.code, Some(0), "{}", turn.text());
    let requests = stub.requests();
    let offered = requests
        .iter()
        .map(tool_names)
        .find(|tools| !tools.is_empty())
        .unwrap_or_else(|| panic!("no model request offered tools: {}", turn.text()));
    for name in [&http, &sse] {
        assert!(
            offered.contains(&format!("{name}-whoami")),
            "{name}'s tools were not offered: {offered:?}\n{}",
            turn.text()
        );
    }
    assert!(
        !offered
            .iter()
            .any(|tool| tool.starts_with(&format!("{refused}-"))),
        "the refused server's tools were offered: {offered:?}"
    );
    let digest = sha256_hex(&f.secret);
    // The last request carries the whole conversation, tool results included.
    let last = requests.last().expect("requests");
    let results = last["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].to_string())
        .collect::<Vec<_>>();
    assert_eq!(results.len(), 2, "one result per whoami call: {results:?}");
    for result in &results {
        assert!(result.contains(&digest), "{result}");
    }
    assert!(
        turn.stdout.starts_with("RESULTS ") && turn.stdout.contains(&digest),
        "{}",
        turn.text()
    );

    // Nor is it in anything Copilot sent the model.
    let sent = serde_json::to_string(&requests).expect("requests");
    let mut outputs = Fixture::outputs(&[&list, &turn]);
    outputs.push(&sent);
    f.assert_token_nowhere(&outputs);
}
