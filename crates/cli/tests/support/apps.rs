//! Shared by the app-connection test files: a `Home` whose apps live in a
//! throwaway HOME, the bridge entries Keybearer wrote there read back, and
//! the official SDK clients (Python, TypeScript v2) run over stdio with the
//! command an entry names — as the app would start it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::session::{repo_root, venv_python, Home};
use super::Run;

/// The command line an app would run for one of Keybearer's entries.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Home {
    /// The throwaway HOME the apps' settings files live in.
    pub fn app_home(&self) -> PathBuf {
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("home");
        home
    }

    /// `keybearer` with HOME pointing at [`Home::app_home`].
    pub fn apps_command(&self, args: &[&str]) -> Command {
        let mut command = self.command(args);
        command
            .env("HOME", self.app_home())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CODEX_HOME")
            .env_remove("CLAUDE_CONFIG_DIR");
        command
    }

    pub fn apps(&self, args: &[&str]) -> Run {
        self.run_with(self.apps_command(args), "")
    }

    /// Claude Code's user-scope entries (`~/.claude.json`), Keybearer's only.
    pub fn claude_code_entries(&self) -> Vec<Entry> {
        claude_code_entries_in(&self.app_home())
    }
}

/// Keybearer's entries in Claude Code's user-scope settings under `home`.
pub fn claude_code_entries_in(home: &std::path::Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(home.join(".claude.json")).expect("~/.claude.json");
    let config: Value = serde_json::from_str(&text).expect("JSON");
    let servers = config["mcpServers"].as_object().expect("mcpServers");
    servers
        .iter()
        .filter(|(_, entry)| entry["args"][0] == "bridge")
        .map(|(name, entry)| Entry {
            name: name.clone(),
            command: entry["command"].as_str().expect("command").to_string(),
            args: strings(&entry["args"]),
            env: entry["env"]
                .as_object()
                .map(|env| {
                    env.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The entry whose `--server` is `url`.
pub fn entry_for<'a>(entries: &'a [Entry], url: &str) -> &'a Entry {
    entries
        .iter()
        .find(|entry| entry.args.iter().any(|arg| arg == url))
        .unwrap_or_else(|| panic!("no entry for {url} in {entries:?}"))
}

/// What a stdio client printed (one JSON line) and its stderr (which holds
/// the bridge's).
pub struct ClientRun {
    pub ok: bool,
    pub answer: Value,
    pub stderr: String,
}

/// The official Python SDK client, over stdio, starting `entry` as an app
/// would (its command, arguments and env; nothing else from Keybearer).
pub fn python_client(entry: &Entry, client_args: &[&str]) -> ClientRun {
    let mut command = Command::new(venv_python());
    command
        .arg(repo_root().join("tests/mcp-peers/client.py"))
        .arg("--stdio")
        .args(client_args)
        .arg("--")
        .arg(&entry.command)
        .args(&entry.args);
    run_client(command, entry)
}

/// The TypeScript SDK v2 client, over stdio.
pub fn ts_client(entry: &Entry, client_args: &[&str]) -> ClientRun {
    let mut command = Command::new("node");
    command
        .arg(repo_root().join("tests/mcp-peers-ts/client.mjs"))
        .args(client_args)
        .arg("--")
        .arg(&entry.command)
        .args(&entry.args);
    run_client(command, entry)
}

/// [`python_client`] with these variables added (another computer's
/// keychain: its session bus).
pub fn python_client_with(
    entry: &Entry,
    client_args: &[&str],
    env: &[(String, String)],
) -> ClientRun {
    let mut command = Command::new(venv_python());
    command
        .arg(repo_root().join("tests/mcp-peers/client.py"))
        .arg("--stdio")
        .args(client_args)
        .arg("--")
        .arg(&entry.command)
        .args(&entry.args);
    for (key, value) in env {
        command.env(key, value);
    }
    run_client(command, entry)
}

fn run_client(mut command: Command, entry: &Entry) -> ClientRun {
    for (key, value) in &entry.env {
        command.env(key, value);
    }
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let line = stdout.lines().last().unwrap_or_default();
    let answer: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("client printed no JSON ({e}): {stdout}\n{stderr}"));
    ClientRun {
        ok: answer["ok"] == true,
        answer,
        stderr,
    }
}
