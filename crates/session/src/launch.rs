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
use keybearer_base::error::{Error, Result};
use keybearer_base::model::Protocol;

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
#[path = "launch_tests.rs"]
mod tests;
