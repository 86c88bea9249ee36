//! Tests of `launch`: what each agent gets, and that no secret is in argv.

use super::*;
use crate::endpoint::HeaderSecret;

fn endpoint(name: &str, url: &str, transport: Protocol, token: &str) -> McpEndpoint {
    McpEndpoint {
        name: name.into(),
        url: url.into(),
        transport,
        headers: vec![(
            "Authorization".to_string(),
            HeaderSecret::bearer(token).expect("token"),
        )],
    }
}

/// A session folder in a parent removed with the test.
fn private_dir() -> (tempfile::TempDir, PrivateDir) {
    let parent = tempfile::tempdir().expect("parent");
    let dir = PrivateDir::create(&parent.path().join("run"), "sesn_t").expect("dir");
    (parent, dir)
}

#[test]
fn claude_gets_a_literal_config_file_and_no_secret_in_argv() {
    let (_parent, dir) = private_dir();
    let endpoints = [
        endpoint(
            "a",
            "http://127.0.0.1:1/mcp",
            Protocol::StreamableHttp,
            "tok-a",
        ),
        endpoint("b", "http://127.0.0.1:2/sse", Protocol::Sse, "tok-b"),
    ];
    let agent = Agent::Claude {
        args: vec!["--verbose".into()],
    };
    let plan = plan(
        "sesn_t",
        &agent,
        "/bin/claude".into(),
        &endpoints,
        &dir,
        None,
    )
    .expect("plan");
    assert_eq!(plan.args[0], "--mcp-config");
    assert_eq!(plan.args[2], "--verbose");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan.args[1]).expect("config")).expect("json");
    assert_eq!(
        config,
        serde_json::json!({"mcpServers": {
            "a": {"type": "http", "url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer tok-a"}},
            "b": {"type": "sse", "url": "http://127.0.0.1:2/sse", "headers": {"Authorization": "Bearer tok-b"}},
        }})
    );
    assert!(!plan.args.iter().any(|arg| arg.contains("tok-")));
    assert!(!format!("{plan:?}").contains("tok-"));
}

#[test]
fn codex_gets_overrides_and_child_env_and_refuses_sse() {
    let (_parent, dir) = private_dir();
    let endpoints = [
        endpoint(
            "gh-mcp",
            "https://gh.example/mcp",
            Protocol::StreamableHttp,
            "tok-1",
        ),
        endpoint(
            "gh_mcp",
            "https://gh2.example/mcp",
            Protocol::StreamableHttp,
            "tok-2",
        ),
    ];
    let agent = Agent::Codex {
        args: vec!["exec".into()],
    };
    let plan = plan(
        "sesn_t",
        &agent,
        "/bin/codex".into(),
        &endpoints,
        &dir,
        None,
    )
    .expect("plan");
    assert_eq!(
        plan.args,
        [
            "-c",
            "mcp_servers.gh-mcp.url=\"https://gh.example/mcp\"",
            "-c",
            "mcp_servers.gh-mcp.bearer_token_env_var=\"KEYBEARER_TOKEN_GH_MCP\"",
            "-c",
            "mcp_servers.gh_mcp.url=\"https://gh2.example/mcp\"",
            "-c",
            "mcp_servers.gh_mcp.bearer_token_env_var=\"KEYBEARER_TOKEN_GH_MCP_2\"",
            "exec",
        ]
    );
    let env: Vec<(&str, &str)> = plan
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(env.contains(&("KEYBEARER_TOKEN_GH_MCP", "tok-1")));
    assert!(env.contains(&("KEYBEARER_TOKEN_GH_MCP_2", "tok-2")));
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());

    let sse = [endpoint(
        "old",
        "https://o.example/sse",
        Protocol::Sse,
        "tok-s",
    )];
    let error = super::plan("sesn_t", &agent, "/bin/codex".into(), &sse, &dir, None)
        .expect_err("no bridge program");
    assert_eq!(error.code(), "unsupported");
    assert!(error.to_string().contains("speaks no SSE"));
}

/// Header credentials in direct mode: Codex reads each value from a
/// variable of its own environment (`env_http_headers`), never argv.
#[test]
fn codex_gets_header_credentials_through_its_environment() {
    let (_parent, dir) = private_dir();
    let endpoints = [McpEndpoint {
        name: "tools".into(),
        url: "https://tools.example/mcp".into(),
        transport: Protocol::StreamableHttp,
        headers: vec![
            ("X-API-Key".into(), HeaderSecret::value("k-secret")),
            ("X-Org".into(), HeaderSecret::value("o-secret")),
        ],
    }];
    let agent = Agent::Codex { args: Vec::new() };
    let plan = plan(
        "sesn_t",
        &agent,
        "/bin/codex".into(),
        &endpoints,
        &dir,
        None,
    )
    .expect("plan");
    assert_eq!(
        plan.args,
        [
            "-c",
            "mcp_servers.tools.url=\"https://tools.example/mcp\"",
            "-c",
            "mcp_servers.tools.env_http_headers={\"X-API-Key\"=\"KEYBEARER_TOKEN_TOOLS_X_API_KEY\",\"X-Org\"=\"KEYBEARER_TOKEN_TOOLS_X_ORG\"}",
        ]
    );
    let env: Vec<(&str, &str)> = plan
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(env.contains(&("KEYBEARER_TOKEN_TOOLS_X_API_KEY", "k-secret")));
    assert!(env.contains(&("KEYBEARER_TOKEN_TOOLS_X_ORG", "o-secret")));
    assert!(!plan.args.iter().any(|arg| arg.contains("secret")));
}

/// An SSE server reaches Codex through the stdio bridge; the header
/// value is in a 0600 file, not in an argument or the environment.
#[test]
fn codex_gets_the_bridge_for_sse_servers() {
    let (_parent, dir) = private_dir();
    let sse = [endpoint(
        "old",
        "http://127.0.0.1:9/sse",
        Protocol::Sse,
        "tok-s",
    )];
    let agent = Agent::Codex { args: Vec::new() };
    let bridge = std::path::Path::new("/opt/keybearer/keybearer");
    let plan = plan(
        "sesn_t",
        &agent,
        "/bin/codex".into(),
        &sse,
        &dir,
        Some(bridge),
    )
    .expect("plan");
    let file = dir.path().join("old.headers");
    assert_eq!(
        plan.args,
        [
            "-c".to_string(),
            "mcp_servers.old.command=\"/opt/keybearer/keybearer\"".to_string(),
            "-c".to_string(),
            format!(
                "mcp_servers.old.args=[\"bridge\",\"--server\",\"http://127.0.0.1:9/sse\",\"--protocol\",\"sse\",\"--headers-file\",\"{}\"]",
                // A TOML string: Windows' `\` doubled.
                file.display().to_string().replace('\\', "\\\\")
            ),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("file"),
        "Authorization: Bearer tok-s\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!plan.args.iter().any(|arg| arg.contains("tok-")));
    assert!(!plan.env.iter().any(|(_, v)| v.contains("tok-")));
}

#[test]
fn custom_gets_the_placeholder_replaced() {
    let (_parent, dir) = private_dir();
    let agent = Agent::Custom {
        program: "tool".into(),
        args: vec!["--config={mcp_config}".into(), "x".into()],
    };
    let plan = plan("sesn_t", &agent, "/bin/tool".into(), &[], &dir, None).expect("plan");
    let config = plan
        .env
        .iter()
        .find(|(k, _)| k == MCP_CONFIG_ENV)
        .map(|(_, v)| v.to_string())
        .expect("env");
    assert_eq!(plan.args, [format!("--config={config}"), "x".to_string()]);
    assert_eq!(toml_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
}
