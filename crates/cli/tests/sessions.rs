//! `keybearer session …` end to end: the real binary, a real Secret Service
//! (started by `scripts/with-secret-service.sh`), and shell-script stand-ins
//! for the agents that report what they were given: proxy and direct mode,
//! the Claude and Codex presets, and clear errors.

#![cfg(unix)]

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::session::{
    path_with, read, repo_root, sha256_hex, start_mcp_server, token, venv_python, Home,
};

/// Proxy mode, the default: the official MCP client, run as a custom agent
/// with the generated config (one streamable HTTP and one SSE server), calls
/// a tool through the loopback proxy on the first of them (both transports
/// through the proxy are covered in keybearer-vault's proxy tests). The server
/// sees the real token; the agent's argv,
/// environment and config only ever hold the session secret; once the
/// session ends its listeners refuse connections.
#[test]
fn proxy_mode_lets_the_official_client_call_tools_without_seeing_the_token() {
    let h = Home::new();
    let secret = token("proxied");
    let http = start_mcp_server("streamable_http", &secret);
    let sse = start_mcp_server("sse", &secret);
    h.vault("Work", "development");
    h.add("Work", &http.url, "streamable_http", &secret);
    h.add("Work", &sse.url, "sse", &secret);

    let out = h.path("agent.out");
    std::fs::create_dir_all(&out).expect("out");
    let client = repo_root().join("tests/mcp-peers/client.py");
    let agent = h.script(
        "agent.sh",
        &format!(
            r#"out='{out}'
for arg in "$@"; do printf '%s\n' "$arg"; done > "$out/argv"
env > "$out/env"
cat "$KEYBEARER_MCP_CONFIG" > "$out/config"
'{python}' '{client}' --config "$KEYBEARER_MCP_CONFIG" --tool whoami > "$out/result" || exit 3"#,
            out = out.display(),
            python = venv_python().display(),
            client = client.display(),
        ),
    );
    let run = h
        .run(
            &[
                "session",
                "start",
                "--vault",
                "Work",
                "--agent",
                "custom",
                "--",
                &agent,
                "{mcp_config}",
            ],
            "",
        )
        .code(0);
    assert!(run.stderr.contains("proxy mode"), "{}", run.stderr);

    let result: Value = serde_json::from_str(&read(&out.join("result"))).expect("client JSON");
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(
        result["result"],
        sha256_hex(&secret).as_str(),
        "the server saw the real token"
    );

    let config: Value = serde_json::from_str(&read(&out.join("config"))).expect("config");
    let servers = config["mcpServers"].as_object().expect("servers");
    assert_eq!(servers.len(), 2);
    let mut listeners = Vec::new();
    for server in servers.values() {
        let url = server["url"].as_str().expect("url");
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_ne!(url, http.url);
        assert_ne!(url, sse.url);
        let authorization = server["headers"]["Authorization"].as_str().expect("header");
        assert!(authorization.starts_with("Bearer ") && !authorization.contains(&secret));
        listeners.push(
            url.trim_start_matches("http://")
                .split('/')
                .next()
                .expect("addr")
                .to_string(),
        );
    }
    for file in ["argv", "env", "config"] {
        assert!(
            !read(&out.join(file)).contains(&secret),
            "token in the agent's {file}"
        );
    }
    for listener in listeners {
        assert!(
            std::net::TcpStream::connect(&listener).is_err(),
            "listener {listener} still open after the session"
        );
    }
    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    assert_eq!(listed[0]["injection"], "proxy");
    h.assert_nowhere(&secret);
}

#[test]
fn a_direct_custom_session_runs_in_the_terminal_and_returns_the_agents_exit_code() {
    let h = Home::new();
    // Direct mode, approved as a person at the app's dialog would.
    h.approve_direct_sessions();
    let vault = h.vault("Work", "staging");
    let secret = token("custom");
    h.add(
        &vault,
        "https://mcp.example.com/mcp",
        "streamable_http",
        &secret,
    );
    let (agent, out) = h.reporting_agent("agent.sh", 5);
    let folder = h.path("project");
    std::fs::create_dir(&folder).expect("folder");
    let mut command = h.command(&[
        "session",
        "start",
        "--vault",
        "Work",
        "--agent",
        "custom",
        "--dir",
        &folder.to_string_lossy(),
        // Its report folder, outside its working folder.
        "--allow-write",
        &out.to_string_lossy(),
        "--direct",
        "--",
        &agent,
        "--mcp",
        "{mcp_config}",
    ]);
    // Keybearer's own secrets in its environment are not passed on.
    command
        .env("KEYBEARER_PASSPHRASE", "outer-passphrase")
        .env("KEYBEARER_TOKEN_OUTER", "outer-token")
        .env("UNRELATED_SETTING", "kept");
    let run = h.run_with(command, "").code(5);
    assert!(run.stderr.contains("direct mode"), "{}", run.stderr);
    assert!(run.stderr.contains("exited (5)"), "{}", run.stderr);

    let argv = read(&out.join("argv"));
    let lines: Vec<&str> = argv.lines().collect();
    assert_eq!(lines[0], "--mcp");
    let config_path = PathBuf::from(lines[1]);
    assert!(!argv.contains(&secret), "never in argv");
    let env = read(&out.join("env"));
    assert!(!env.contains(&secret));
    assert!(!env.contains("outer-passphrase") && !env.contains("outer-token"));
    assert!(env.contains("UNRELATED_SETTING=kept"));
    let config: Value = serde_json::from_str(&read(&out.join("config"))).expect("json");
    assert_eq!(
        config["mcpServers"]["mcp-example-com-mcp"]["headers"]["Authorization"],
        format!("Bearer {secret}").as_str()
    );
    assert_eq!(
        read(&out.join("pwd")).trim(),
        std::fs::canonicalize(&folder)
            .expect("canonical")
            .to_string_lossy()
    );
    assert!(!config_path.exists() && !config_path.parent().expect("dir").exists());

    let listed = h.run(&["--json", "session", "list"], "").code(0).json();
    let session = &listed[0];
    assert_eq!(session["state"], "exited");
    assert_eq!(session["code"], 5);
    assert_eq!(session["agent"], "custom");
    assert_eq!(session["injection"], "direct");
    assert_eq!(session["environment"], "staging");
    assert_eq!(session["vault_ids"][0], vault.as_str());
    let id = session["id"].as_str().expect("id");
    let human = h.run(&["session", "list"], "").code(0);
    assert!(human.stdout.contains(id) && human.stdout.contains("exited (5)"));
    let events = h.run(&["--json", "events"], "").code(0).json();
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["session_id"] == id)
        .map(|event| event["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["session.exited", "session.started", "credential.used"]
    );
    h.assert_nowhere(&secret);
}

#[test]
fn claude_and_codex_presets_get_their_configuration_and_no_token_in_argv() {
    let h = Home::new();
    // Direct mode, approved as a person at the app's dialog would.
    h.approve_direct_sessions();
    let vault = h.vault("Tools", "development");
    let secret = token("preset");
    h.add(
        &vault,
        "https://api.example.com/mcp/",
        "streamable_http",
        &secret,
    );
    let bin = h.path("bin");
    let (_, claude_out) = h.reporting_agent("bin/claude", 0);
    let (_, codex_out) = h.reporting_agent("bin/codex", 0);

    let mut command = h.command(&[
        "session",
        "start",
        "--vault",
        "Tools",
        "--agent",
        "claude",
        "--direct",
        "--",
        "--verbose",
    ]);
    command.env("PATH", path_with(&bin));
    h.run_with(command, "").code(0);
    let argv = read(&claude_out.join("argv"));
    let lines: Vec<&str> = argv.lines().collect();
    assert_eq!(lines[0], "--mcp-config");
    assert_eq!(lines[2], "--verbose");
    assert!(!argv.contains(&secret));
    let config: Value = serde_json::from_str(&read(&claude_out.join("config"))).expect("json");
    assert_eq!(
        config,
        serde_json::json!({"mcpServers": {"api-example-com-mcp": {
            "type": "http",
            "url": "https://api.example.com/mcp/",
            "headers": {"Authorization": format!("Bearer {secret}")},
        }}})
    );

    let mut command = h.command(&[
        "session", "start", "--vault", "Tools", "--agent", "codex", "--direct", "--", "exec", "hi",
    ]);
    command.env("PATH", path_with(&bin));
    h.run_with(command, "").code(0);
    let argv = read(&codex_out.join("argv"));
    assert_eq!(
        argv.lines().collect::<Vec<_>>(),
        [
            "-c",
            "mcp_servers.api-example-com-mcp.url=\"https://api.example.com/mcp/\"",
            "-c",
            "mcp_servers.api-example-com-mcp.bearer_token_env_var=\"KEYBEARER_TOKEN_API_EXAMPLE_COM_MCP\"",
            "exec",
            "hi",
        ]
    );
    assert!(!argv.contains(&secret));
    let env = read(&codex_out.join("env"));
    assert!(env
        .lines()
        .any(|line| line == format!("KEYBEARER_TOKEN_API_EXAMPLE_COM_MCP={secret}")));
    assert!(
        !codex_out.join("config").exists(),
        "Codex gets no config file"
    );

    // Codex speaks no SSE: such a server is given to it as Keybearer's stdio
    // bridge, with the Authorization value in a 0600 file, never in argv.
    let sse_token = token("sse");
    h.add(&vault, "https://legacy.example.com/sse", "sse", &sse_token);
    std::fs::remove_file(codex_out.join("argv")).expect("reset");
    let mut command = h.command(&[
        "session", "start", "--vault", "Tools", "--agent", "codex", "--direct",
    ]);
    command.env("PATH", path_with(&bin));
    h.run_with(command, "").code(0);
    let argv = read(&codex_out.join("argv"));
    assert!(!argv.contains(&sse_token) && !argv.contains(&secret));
    let program = std::fs::canonicalize(support::BIN).expect("program");
    assert!(
        argv.lines().any(|line| line
            == format!(
                "mcp_servers.legacy-example-com-sse.command=\"{}\"",
                program.display()
            )),
        "{argv}"
    );
    assert!(
        argv.lines().any(|line| line.starts_with("mcp_servers.legacy-example-com-sse.args=[\"bridge\",\"--server\",\"https://legacy.example.com/sse\",\"--protocol\",\"sse\",\"--headers-file\",")),
        "{argv}"
    );
    let env = read(&codex_out.join("env"));
    assert!(!env.contains(&sse_token));
    h.assert_nowhere(&secret);
    h.assert_nowhere(&sse_token);
}

#[test]
fn missing_agents_and_mixed_environments_are_clear_errors() {
    let h = Home::new();
    h.vault("Dev", "development");
    h.vault("Prod", "production");
    let empty = h.path("empty-bin");
    std::fs::create_dir(&empty).expect("dir");
    let mut command = h.command(&[
        "session", "start", "--vault", "Dev", "--agent", "claude", "--direct",
    ]);
    command.env("PATH", &empty);
    let run = h.run_with(command, "").code(127);
    assert!(
        run.stderr
            .contains("Claude Code is not installed: the `claude` command was not found on PATH."),
        "{}",
        run.stderr
    );
    let run = h
        .run(
            &[
                "session", "start", "--vault", "Dev", "--vault", "Prod", "--agent", "custom",
                "--direct", "--", "true",
            ],
            "",
        )
        .code(2);
    assert!(
        run.stderr.contains("different environments"),
        "{}",
        run.stderr
    );
    let run = h
        .run(
            &[
                "session", "start", "--vault", "Dev", "--agent", "custom", "--direct",
            ],
            "",
        )
        .code(2);
    assert!(run.stderr.contains("after --"), "{}", run.stderr);
    let presets = h.run(&["--json", "session", "agents"], "").code(0).json();
    let commands: Vec<&str> = presets
        .as_array()
        .expect("array")
        .iter()
        .map(|preset| preset["command"].as_str().expect("command"))
        .collect();
    assert_eq!(commands, ["claude", "codex"]);
}
