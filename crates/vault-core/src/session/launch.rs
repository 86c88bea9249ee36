//! How each agent takes its MCP configuration (docs/architecture.md, "Sessions";
//! agent presets): the command line, the child-only environment and the 0600
//! files in the session's private folder. Nothing secret ever goes into
//! the arguments: header values go into the config file, Codex's tokens
//! into the child's environment.

use std::path::PathBuf;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use zeroize::Zeroizing;

use super::endpoint::McpEndpoint;
use super::model::Agent;
use super::private_dir::PrivateDir;
use crate::error::{Error, Result};
use crate::model::Protocol;

/// Environment variable with the path of the generated `mcpServers` JSON.
pub const MCP_CONFIG_ENV: &str = "KEYBEARER_MCP_CONFIG";
/// Environment variable with the session's id.
pub const SESSION_ID_ENV: &str = "KEYBEARER_SESSION_ID";
/// Placeholder in a custom command's arguments for the config file's path.
pub const MCP_CONFIG_PLACEHOLDER: &str = "{mcp_config}";
const MCP_CONFIG_FILE: &str = "mcp.json";

/// Variables of Keybearer's own environment the agent must not inherit:
/// the passphrase that unlocks the vaults, and tokens of an enclosing session.
const PASSPHRASE_ENV: &str = "KEYBEARER_PASSPHRASE";
const TOKEN_ENV_PREFIX: &str = "KEYBEARER_TOKEN_";

/// Everything needed to start the agent. The child's environment is the
/// parent's without `remove`, plus `env` (whose values may be secret).
pub(crate) struct LaunchPlan {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, Zeroizing<String>)>,
    pub(crate) remove: Vec<std::ffi::OsString>,
}

fn inherited_secrets() -> Vec<std::ffi::OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            name.to_str()
                .is_some_and(|name| name == PASSPHRASE_ENV || name.starts_with(TOKEN_ENV_PREFIX))
        })
        .collect()
}

impl std::fmt::Debug for LaunchPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("LaunchPlan")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &names)
            .finish()
    }
}

/// `bridge`: the `keybearer` program, for agents that need the stdio bridge
/// for some server (Codex and SSE); `None` when it cannot be found.
pub(crate) fn plan(
    session_id: &str,
    agent: &Agent,
    program: PathBuf,
    endpoints: &[McpEndpoint],
    dir: &PrivateDir,
    bridge: Option<&std::path::Path>,
) -> Result<LaunchPlan> {
    let mut env = vec![(
        SESSION_ID_ENV.to_string(),
        Zeroizing::new(session_id.to_string()),
    )];
    let mut args = Vec::new();
    match agent {
        Agent::Claude { args: user } => {
            let config = write_mcp_config(dir, endpoints)?;
            args.push("--mcp-config".to_string());
            args.push(config.clone());
            args.extend(user.iter().cloned());
            env.push((MCP_CONFIG_ENV.to_string(), Zeroizing::new(config)));
        }
        Agent::Codex { args: user } => {
            let mut variables: Vec<String> = Vec::new();
            for endpoint in endpoints {
                if endpoint.transport == Protocol::Sse {
                    // Codex speaks no SSE: it gets Keybearer's bridge as a
                    // stdio server, which relays to the same place.
                    codex_bridge(&mut args, endpoint, dir, bridge)?;
                    continue;
                }
                args.push("-c".to_string());
                args.push(format!(
                    "mcp_servers.{}.url={}",
                    endpoint.name,
                    toml_string(&endpoint.url)
                ));
                if let Some(token) = endpoint.bearer_token() {
                    let variable = unique_variable(&endpoint.name, &variables);
                    args.push("-c".to_string());
                    args.push(format!(
                        "mcp_servers.{}.bearer_token_env_var={}",
                        endpoint.name,
                        toml_string(&variable)
                    ));
                    env.push((variable.clone(), Zeroizing::new(token.to_string())));
                    variables.push(variable);
                    continue;
                }
                // Other headers: Codex reads each value from a variable of
                // the child's environment (`env_http_headers`).
                let mut pairs = Vec::new();
                for (name, value) in &endpoint.headers {
                    let variable =
                        unique_variable(&format!("{}_{name}", endpoint.name), &variables);
                    pairs.push(format!("{}={}", toml_string(name), toml_string(&variable)));
                    env.push((
                        variable.clone(),
                        Zeroizing::new(value.header_value().to_string()),
                    ));
                    variables.push(variable);
                }
                args.push("-c".to_string());
                args.push(format!(
                    "mcp_servers.{}.env_http_headers={{{}}}",
                    endpoint.name,
                    pairs.join(",")
                ));
            }
            args.extend(user.iter().cloned());
        }
        Agent::Custom { args: user, .. } => {
            let config = write_mcp_config(dir, endpoints)?;
            args.extend(
                user.iter()
                    .map(|arg| arg.replace(MCP_CONFIG_PLACEHOLDER, &config)),
            );
            env.push((MCP_CONFIG_ENV.to_string(), Zeroizing::new(config)));
        }
    }
    Ok(LaunchPlan {
        program,
        args,
        env,
        remove: inherited_secrets(),
    })
}

/// Codex's stdio entry for an SSE server: `keybearer bridge` with the
/// headers (the session secret, or the credential's in direct mode) in a
/// 0600 file of the session's private folder, never in an argument.
fn codex_bridge(
    args: &mut Vec<String>,
    endpoint: &McpEndpoint,
    dir: &PrivateDir,
    bridge: Option<&std::path::Path>,
) -> Result<()> {
    let program = bridge.ok_or_else(|| {
        Error::Unsupported(format!(
            "Codex CLI speaks no SSE, and the server \"{}\" uses it. Keybearer's bridge would serve it, but its program was not found next to this one; reinstall Keybearer, or choose another agent.",
            endpoint.name
        ))
    })?;
    let file = dir.write(
        &format!("{}.headers", endpoint.name),
        endpoint.header_lines().as_bytes(),
    )?;
    let text = |path: &std::path::Path| {
        path.to_str()
            .map(str::to_string)
            .ok_or_else(|| Error::invalid("working_dir", "A temporary path is not valid text."))
    };
    let bridge_args = [
        "bridge".to_string(),
        "--server".to_string(),
        endpoint.url.clone(),
        "--protocol".to_string(),
        "sse".to_string(),
        "--headers-file".to_string(),
        text(&file)?,
    ];
    let list: Vec<String> = bridge_args.iter().map(|arg| toml_string(arg)).collect();
    args.push("-c".to_string());
    args.push(format!(
        "mcp_servers.{}.command={}",
        endpoint.name,
        toml_string(&text(program)?)
    ));
    args.push("-c".to_string());
    args.push(format!(
        "mcp_servers.{}.args=[{}]",
        endpoint.name,
        list.join(",")
    ));
    Ok(())
}

/// `KEYBEARER_TOKEN_<NAME>`, upper-cased with `-` as `_`, unique in the session.
fn unique_variable(name: &str, taken: &[String]) -> String {
    let base = format!(
        "{TOKEN_ENV_PREFIX}{}",
        name.to_ascii_uppercase().replace('-', "_")
    );
    let mut variable = base.clone();
    let mut n = 2;
    while taken.contains(&variable) {
        variable = format!("{base}_{n}");
        n += 1;
    }
    variable
}

/// A TOML basic string (what Codex's `-c key=value` parses values as).
fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes Claude Code's `{"mcpServers": {NAME: {type, url, headers}}}` with
/// literal header values (Claude Code blanks some `${VAR}` expansions) and
/// returns its path.
fn write_mcp_config(dir: &PrivateDir, endpoints: &[McpEndpoint]) -> Result<String> {
    // Sized up front so the buffer holding the secrets is never reallocated
    // (a reallocation would leave an unwiped copy behind).
    let size = 64
        + endpoints
            .iter()
            .map(|e| {
                128 + 2
                    * (e.name.len()
                        + e.url.len()
                        + e.headers
                            .iter()
                            .map(|(n, v)| 8 + n.len() + v.header_value().len())
                            .sum::<usize>())
            })
            .sum::<usize>();
    let mut json = Zeroizing::new(Vec::with_capacity(size));
    serde_json::to_writer_pretty(&mut *json, &McpConfig { endpoints })
        .map_err(|error| Error::Io(std::io::Error::other(error)))?;
    let path = dir.write(MCP_CONFIG_FILE, &json)?;
    path.into_os_string().into_string().map_err(|_| {
        Error::invalid(
            "working_dir",
            "The temporary folder's path is not valid text.",
        )
    })
}

struct McpConfig<'a> {
    endpoints: &'a [McpEndpoint],
}

impl Serialize for McpConfig<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("mcpServers", &Servers(self.endpoints))?;
        map.end()
    }
}

struct Servers<'a>(&'a [McpEndpoint]);

impl Serialize for Servers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for endpoint in self.0 {
            map.serialize_entry(&endpoint.name, &Server(endpoint))?;
        }
        map.end()
    }
}

struct Server<'a>(&'a McpEndpoint);

impl Serialize for Server<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let endpoint = self.0;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(
            "type",
            match endpoint.transport {
                Protocol::StreamableHttp => "http",
                Protocol::Sse => "sse",
            },
        )?;
        map.serialize_entry("url", &endpoint.url)?;
        map.serialize_entry(
            "headers",
            &endpoint
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.header_value()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::endpoint::HeaderSecret;

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
                    file.display()
                ),
            ]
        );
        assert_eq!(
            std::fs::read_to_string(&file).expect("file"),
            "Authorization: Bearer tok-s\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
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
}
