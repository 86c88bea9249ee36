//! Per-app JSON entry shapes: reading any app's entry into the neutral
//! `ServerEntry`, and writing a `BridgeEntry` in the app's own stdio shape.
//!
//! Reading is tolerant (it accepts every shape the apps document, including
//! Zed's older nested `command` object and opencode's command array);
//! writing is exact (one documented shape per app, keys in the order the
//! app's docs show them). Limits: values that are not strings (numbers,
//! booleans) in `args`/`env`/`headers` are read as their JSON text.

use jsonc_parser::cst::CstInputValue;
use serde_json::{Map, Value};

use crate::apps::App;
use crate::entries::{
    BridgeEntry, RemoteServer, RemoteTransport, ServerEntry, StdioServer, Transport,
};

/// The neutral reading of one entry.
pub(crate) fn read_entry(app: App, name: &str, value: &Value) -> ServerEntry {
    let transport = match value.as_object() {
        Some(obj) => read_object(app, obj),
        None => Transport::Other {
            kind: "not an object".into(),
        },
    };
    ServerEntry {
        name: name.to_string(),
        transport,
    }
}

fn read_object(app: App, obj: &Map<String, Value>) -> Transport {
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    if obj.get("source").and_then(Value::as_str) == Some("extension") {
        return Transport::Other {
            kind: "extension server".into(),
        };
    }
    let env_key = if app == App::OpenCode {
        "environment"
    } else {
        "env"
    };
    match obj.get("command") {
        Some(Value::String(command)) => {
            return Transport::Stdio(StdioServer {
                command: command.clone(),
                args: strings(obj.get("args")),
                env: pairs(obj.get(env_key)),
            })
        }
        // opencode: one array, program first.
        Some(Value::Array(parts)) => {
            let mut parts = strings(Some(&Value::Array(parts.clone())));
            if parts.is_empty() {
                return Transport::Other {
                    kind: "empty command".into(),
                };
            }
            let command = parts.remove(0);
            return Transport::Stdio(StdioServer {
                command,
                args: parts,
                env: pairs(obj.get(env_key)),
            });
        }
        // Zed before mid-2025: "command": {"path", "args", "env"}.
        Some(Value::Object(inner)) => {
            if let Some(path) = inner.get("path").and_then(Value::as_str) {
                return Transport::Stdio(StdioServer {
                    command: path.to_string(),
                    args: strings(inner.get("args")),
                    env: pairs(inner.get("env")),
                });
            }
        }
        _ => {}
    }
    let url = ["url", "serverUrl", "httpUrl"]
        .iter()
        .find_map(|key| obj.get(*key).and_then(Value::as_str).map(|u| (*key, u)));
    if let Some((url_key, url)) = url {
        let transport = match kind {
            "sse" => Some(RemoteTransport::Sse),
            "http" | "streamable-http" | "streamable_http" | "streamableHttp" => {
                Some(RemoteTransport::Http)
            }
            _ if url_key == "httpUrl" => Some(RemoteTransport::Http),
            // Gemini CLI: a bare `url` is SSE.
            _ if app == App::GeminiCli && url_key == "url" => Some(RemoteTransport::Sse),
            _ => None,
        };
        return Transport::Remote(RemoteServer {
            url: url.to_string(),
            transport,
            headers: pairs(obj.get("headers")),
            env: pairs(obj.get(env_key)),
        });
    }
    Transport::Other {
        kind: if kind.is_empty() {
            "unrecognised entry".into()
        } else {
            format!("type \"{kind}\"")
        },
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(text_of).collect())
        .unwrap_or_default()
}

fn pairs(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| text_of(v).map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default()
}

fn string_array(items: &[String]) -> CstInputValue {
    CstInputValue::Array(
        items
            .iter()
            .map(|s| CstInputValue::String(s.clone()))
            .collect(),
    )
}

fn string_map(items: &[(String, String)]) -> CstInputValue {
    CstInputValue::Object(
        items
            .iter()
            .map(|(k, v)| (k.clone(), CstInputValue::String(v.clone())))
            .collect(),
    )
}

fn s(value: &str) -> CstInputValue {
    CstInputValue::String(value.to_string())
}

/// The bridge entry in `app`'s own stdio shape. `nested_opencode` is the v2
/// layout (`mcp.servers`), which has no `enabled` flag.
pub(crate) fn bridge_value(app: App, entry: &BridgeEntry, nested_opencode: bool) -> CstInputValue {
    let command = || s(&entry.command);
    let args = || string_array(&entry.args);
    let env = || string_map(&entry.env);
    let fields: Vec<(&str, CstInputValue)> = match app {
        App::ClaudeCode | App::VsCode => vec![
            ("type", s("stdio")),
            ("command", command()),
            ("args", args()),
            ("env", env()),
        ],
        App::OpenCode => {
            let mut line = vec![entry.command.clone()];
            line.extend(entry.args.iter().cloned());
            let mut fields = vec![("type", s("local")), ("command", string_array(&line))];
            if !nested_opencode {
                fields.push(("enabled", CstInputValue::Bool(true)));
            }
            fields.push(("environment", env()));
            fields
        }
        App::CopilotCli => vec![
            ("type", s("local")),
            ("command", command()),
            ("args", args()),
            ("env", env()),
            ("tools", string_array(&["*".to_string()])),
        ],
        // Claude Desktop, Cursor, Windsurf, Zed, Gemini CLI (and, unused
        // here, the non-JSON apps) take the common shape.
        _ => vec![("command", command()), ("args", args()), ("env", env())],
    };
    CstInputValue::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// What reading the written bridge entry back must give.
pub(crate) fn expected_stdio(entry: &BridgeEntry) -> StdioServer {
    StdioServer {
        command: entry.command.clone(),
        args: entry.args.clone(),
        env: entry.env.clone(),
    }
}
