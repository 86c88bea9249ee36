//! Sessions with real processes: shell-script agents that report what they
//! were given, and the official MCP client as an agent against the official
//! MCP server; preparing a session and its errors.
//! Direct-mode tests open tokens, so they need the Secret Service that
//! `scripts/with-secret-service.sh` starts; the others only need SQLite.

#![cfg(unix)]

use std::path::PathBuf;

use keybearer_session::{
    direct_endpoints, prepare, recorded_session, Agent, InjectionMode, SessionManager,
    SessionState, Terminal,
};
use sha2::{Digest, Sha256};
mod support;

use keybearer_vault::Protocol;
use support::peers::{python, repo_file, PythonServer};
use support::world::{kinds_for, read_when_present, World};

#[test]
fn direct_mode_custom_agent_reads_the_token_from_its_private_config_never_from_argv() {
    let mut w = World::with_keychain();
    let vault = w.vault("Work", "staging");
    let token = format!("tok-direct-{}", std::process::id());
    w.add(
        &vault,
        "https://mcp.example.com/mcp",
        Protocol::StreamableHttp,
        &token,
    );
    w.add(
        &vault,
        "https://old.example.com/sse",
        Protocol::Sse,
        "tok-sse-2",
    );
    let out = w.path("out");
    std::fs::create_dir(&out).expect("out");
    let agent = w.script(
        "agent.sh",
        &(format!("out='{}'\n", out.display())
            + r#"for arg in "$@"; do printf '%s\n' "$arg"; done > "$out/argv"
env > "$out/env"
pwd > "$out/pwd"
cat "$KEYBEARER_MCP_CONFIG" > "$out/config"
stat -c %a "$KEYBEARER_MCP_CONFIG" > "$out/file_mode"
stat -c %a "$(dirname "$KEYBEARER_MCP_CONFIG")" > "$out/dir_mode"
printf '%s\n' "$KEYBEARER_MCP_CONFIG" > "$out/config_path"
printf 'done\n' > "$out/finished""#),
    );
    let request = w.request(
        &[&vault],
        Agent::Custom {
            program: agent,
            args: vec!["--config={mcp_config}".into(), "plain-arg".into()],
        },
        InjectionMode::Direct,
    );
    let prepared = prepare(&w.engine, request).expect("prepare");
    let id = prepared.id().to_string();
    assert!(id.starts_with("sesn_"));
    let endpoints =
        direct_endpoints(&mut w.engine, &id, prepared.vault_ids()).expect("direct endpoints");
    assert_eq!(endpoints.len(), 2);
    assert!(!format!("{endpoints:?}").contains(&token));

    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = manager
        .start(prepared, endpoints, Terminal::Inherit)
        .expect("start");
    assert_eq!(started.session.state, SessionState::Running);
    let ended = manager.wait(&id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 0 });
    read_when_present(&out.join("finished"));

    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config")).expect("config"))
            .expect("config is JSON");
    let servers = config["mcpServers"].as_object().expect("mcpServers");
    let server = &servers["mcp-example-com-mcp"];
    assert_eq!(server["type"], "http");
    assert_eq!(server["url"], "https://mcp.example.com/mcp");
    assert_eq!(
        server["headers"]["Authorization"],
        format!("Bearer {token}").as_str()
    );
    assert_eq!(servers["old-example-com-sse"]["type"], "sse");

    let argv = std::fs::read_to_string(out.join("argv")).expect("argv");
    let config_path = std::fs::read_to_string(out.join("config_path")).expect("path");
    let config_path = PathBuf::from(config_path.trim());
    assert_eq!(
        argv,
        format!("--config={}\nplain-arg\n", config_path.display())
    );
    assert!(!argv.contains(&token), "the token must never be in argv");
    let env = std::fs::read_to_string(out.join("env")).expect("env");
    assert!(
        !env.contains(&token),
        "custom agents get the token in the file only"
    );
    assert!(env.contains(&format!("KEYBEARER_SESSION_ID={id}")));
    assert!(env.contains(&format!("KEYBEARER_MCP_CONFIG={}", config_path.display())));
    assert_eq!(
        std::fs::read_to_string(out.join("pwd"))
            .expect("pwd")
            .trim(),
        std::fs::canonicalize(w.dir.path())
            .expect("canonical")
            .to_string_lossy()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("file_mode"))
            .expect("mode")
            .trim(),
        "600"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("dir_mode"))
            .expect("mode")
            .trim(),
        "700"
    );
    assert!(!config_path.exists(), "the config is removed at the end");
    assert!(
        !config_path.parent().expect("dir").exists(),
        "so is its folder"
    );

    let recorded = recorded_session(&mut w.engine, &id).expect("recorded");
    assert_eq!(recorded.state, SessionState::Exited { code: 0 });
    assert_eq!(recorded.injection, InjectionMode::Direct);
    assert_eq!(recorded.vault_ids, std::slice::from_ref(&vault));
    assert!(recorded.ended_at.is_some());
    let kinds = kinds_for(&mut w.engine, &id);
    assert!(
        kinds.contains(&("credential.used".into(), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("session.started".into(), None)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("session.exited".into(), Some(0))),
        "{kinds:?}"
    );
    // Nothing of the token in the audit trail or the session records.
    let db = std::fs::read(w.path("data/vault.db")).expect("db");
    let wal = std::fs::read(w.path("data/vault.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes
            .windows(token.len())
            .any(|win| win == token.as_bytes()));
    }
}

#[test]
fn the_official_mcp_client_calls_a_tool_with_the_direct_mode_config() {
    let python = python();
    let mut w = World::with_keychain();
    for (transport, protocol) in [
        ("streamable_http", Protocol::StreamableHttp),
        ("sse", Protocol::Sse),
    ] {
        let token = format!("tok-mcp-{transport}-{}", std::process::id());
        let server = PythonServer::with_token(transport, &token);
        let vault = w.vault(&format!("MCP {transport}"), "development");
        w.add(&vault, &server.url, protocol, &token);
        let result = w.path(&format!("client-{transport}.json"));
        // The client prints one JSON line; the shell only redirects it.
        let agent = Agent::Custom {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "\"$0\" \"$1\" --config \"$2\" --tool whoami > \"$3\"".into(),
                python.to_string_lossy().into_owned(),
                repo_file("tests/mcp-peers/client.py")
                    .to_string_lossy()
                    .into_owned(),
                "{mcp_config}".into(),
                result.to_string_lossy().into_owned(),
            ],
        };
        let prepared = prepare(
            &w.engine,
            w.request(&[&vault], agent, InjectionMode::Direct),
        )
        .expect("prepare");
        let id = prepared.id().to_string();
        let endpoints = direct_endpoints(&mut w.engine, &id, prepared.vault_ids()).expect("ep");
        let manager = SessionManager::new(&w.engine).expect("manager");
        manager
            .start(prepared, endpoints, Terminal::Inherit)
            .expect("start");
        let ended = manager.wait(&id).expect("wait");
        let output = std::fs::read_to_string(&result).unwrap_or_default();
        assert_eq!(
            ended.state,
            SessionState::Exited { code: 0 },
            "{transport}: {output}"
        );
        let answer: serde_json::Value = serde_json::from_str(output.trim()).expect("json");
        assert_eq!(answer["ok"], true, "{transport}: {output}");
        assert_eq!(answer["server"], "keybearer-test-server");
        let expected = format!("{:x}", Sha256::digest(token.as_bytes()));
        assert_eq!(answer["result"], expected.as_str(), "{transport}");
    }
}

#[test]
fn a_missing_program_is_a_clear_error_not_a_crash() {
    let mut w = World::new();
    let vault = w.vault("V", "development");
    let request = w.request(
        &[&vault],
        Agent::Custom {
            program: "keybearer-no-such-agent".into(),
            args: vec![],
        },
        InjectionMode::Direct,
    );
    let error = prepare(&w.engine, request).expect_err("missing");
    assert_eq!(error.code(), "agent_not_found");
    assert!(
        error
            .to_string()
            .contains("`keybearer-no-such-agent` was not found on PATH"),
        "{error}"
    );
    let claude_installed = keybearer_session::detect_presets()
        .iter()
        .any(|preset| preset.command == "claude" && preset.path.is_some());
    if !claude_installed {
        let request = w.request(
            &[&vault],
            Agent::Claude { args: vec![] },
            InjectionMode::Direct,
        );
        let error = prepare(&w.engine, request).expect_err("no claude");
        assert!(
            error.to_string().starts_with(
                "Claude Code is not installed: the `claude` command was not found on PATH."
            ),
            "{error}"
        );
        assert!(error.to_string().contains("or choose another agent"));
    }
}

#[test]
fn sessions_never_mix_environments_and_need_an_existing_folder() {
    let mut w = World::new();
    let dev = w.vault("Dev", "development");
    let prod = w.vault("Prod", "production");
    let sh = Agent::Custom {
        program: "sh".into(),
        args: vec![],
    };
    let error = prepare(
        &w.engine,
        w.request(&[&dev, &prod], sh.clone(), InjectionMode::Direct),
    )
    .expect_err("mixed");
    assert_eq!(error.code(), "mixed_environments");
    assert!(error.to_string().contains("different environments"));

    let mut request = w.request(&[&dev], sh.clone(), InjectionMode::Direct);
    request.working_dir = w.path("missing");
    let error = prepare(&w.engine, request).expect_err("no folder");
    assert!(error.to_string().contains("does not exist"), "{error}");
    let file = w.path("file");
    std::fs::write(&file, "x").expect("file");
    let mut request = w.request(&[&dev], sh.clone(), InjectionMode::Direct);
    request.working_dir = file;
    let error = prepare(&w.engine, request).expect_err("a file");
    assert!(error.to_string().contains("not a folder"), "{error}");

    // Names work as well as ids, and duplicates collapse in order.
    let prepared = prepare(
        &w.engine,
        w.request(&["Dev", &dev], sh, InjectionMode::Direct),
    )
    .expect("ok");
    assert_eq!(prepared.vault_ids(), [dev]);
    assert_eq!(prepared.environment(), "development");
}
