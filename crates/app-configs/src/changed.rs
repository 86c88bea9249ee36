//! Has something else changed a Keybearer entry? The entry a settings file
//! holds under a name Keybearer manages is compared, as data, with the entry
//! Keybearer writes there (docs/architecture.md, "App connections").
//!
//! Flow: [`changed_entries`] gets the expected entries from the caller (the
//! caller knows which names are Keybearer's and which server each bridges)
//! → the file's entries of those names as plain data (`data.rs`, every
//! setting, whatever the format) next to the expected entry in the app's own
//! shape → equal: nothing to say; different: what differs, as
//! [`Difference`]s read from the neutral `ServerEntry` (program, arguments,
//! variables) plus the names of the other settings that differ.
//!
//! Every setting counts, so a `cwd`, an `envFile` or more Codex `env_vars`
//! make an entry changed as much as another program does. Not compared,
//! because they cannot make the entry start something else nor change what
//! it starts: on/off switches (`enabled`, `disabled`), timeouts, `"type":
//! "stdio"`, Zed's `"source": "custom"`, and empty values (`env_keys: []`,
//! `description: null`, which goose writes for every entry when it saves its
//! settings). A name written twice (JSON allows it; apps read the last) is
//! changed when any of its entries is.
//!
//! What is reported: names (of the entry, of variables, of settings), the
//! program and a server address; argument lists and variable values never
//! (they may hold anything). Some apps take the whole command line in one
//! string (`"npx x --api-key sk-…"`), so the program is its first word only
//! (after any `NAME=value` settings before it), its file name alone when
//! that word is long, at most [`PROGRAM_SHOWN_CHARS`] characters; a server
//! address is its scheme and host only (some services put a token in the
//! path). The caller makes every name printable before showing it.
//!
//! Limits: a managed name missing from the file is not a change (sync writes
//! it again). A program whose path holds spaces and no quotes is shown up to
//! the first space.

use serde_json::Value;

use crate::apps::Format;
use crate::entries::{BridgeEntry, ServerEntry, Transport};
use crate::error::Result;
use crate::json_shapes::expected_stdio;
use crate::locations::ConfigFile;
use crate::{jsonc, toml, yaml};

/// One way an entry differs from the one Keybearer writes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// It starts another program: the program as shown (see the header:
    /// never its arguments).
    Program(String),
    /// It connects to a server address instead: its scheme and host only.
    Remote(String),
    /// It is something that is not a program at all (`kind` in words).
    NotAProgram(String),
    /// Its arguments are not the ones Keybearer wrote.
    Arguments,
    /// Variables Keybearer did not write, by name (`LD_PRELOAD`, …).
    AddedVariables(Vec<String>),
    /// Variables Keybearer wrote that hold another value now or are gone.
    ChangedVariables(Vec<String>),
    /// Other settings Keybearer did not write, or wrote otherwise, by name.
    OtherSettings(Vec<String>),
    /// The name is written more than once in the file.
    Repeated,
}

/// A managed entry that is not what Keybearer wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedEntry {
    pub name: String,
    /// Never empty.
    pub differences: Vec<Difference>,
}

/// The longest program shown, in characters (an ellipsis ends a longer one).
const PROGRAM_SHOWN_CHARS: usize = 60;

/// The program of a command as shown: its first word (quotes kept out),
/// after any `NAME=value` settings; the file name alone when the word is
/// longer than [`PROGRAM_SHOWN_CHARS`]; then cut to that length.
fn program_shown(command: &str) -> String {
    let mut rest = command.trim_start();
    let word = loop {
        let (word, after) = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &rest[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            }
            _ => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        let assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
        });
        if !assignment || after.trim().is_empty() {
            break if assignment { "" } else { word };
        }
        rest = after.trim_start();
    };
    let word = if word.chars().count() > PROGRAM_SHOWN_CHARS {
        word.rsplit(['/', '\\'])
            .find(|part| !part.is_empty())
            .unwrap_or(word)
    } else {
        word
    };
    if word.chars().count() > PROGRAM_SHOWN_CHARS {
        let cut: String = word.chars().take(PROGRAM_SHOWN_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        word.to_string()
    }
}

/// A server address as shown: scheme and host (and port), nothing of the
/// user info, path, query or fragment.
fn origin(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match scheme {
        Some(scheme) => format!("{scheme}://{host}"),
        None => host.to_string(),
    }
}

/// Settings that say where the program, its arguments and its variables
/// are: a difference there is told by the neutral reading.
const PROGRAM_KEYS: &[&str] = &["command", "args", "env", "environment", "cmd", "envs"];

/// Settings that cannot make an entry start something else.
const IGNORED_KEYS: &[&str] = &[
    "enabled",
    "disabled",
    "timeout",
    "startup_timeout_sec",
    "startup_timeout_ms",
    "tool_timeout_sec",
];

/// The entries of `expected` whose names the file holds with anything else
/// than what Keybearer writes, in `expected`'s order.
pub fn changed_entries(
    file: &ConfigFile,
    text: &str,
    expected: &[BridgeEntry],
) -> Result<Vec<ChangedEntry>> {
    let ctx = file.ctx();
    let data = match file.app.format() {
        Format::Json => jsonc::entry_data(&ctx, text, expected)?,
        Format::Toml => toml::entry_data(&ctx, text, expected)?,
        Format::Yaml => yaml::entry_data(&ctx, text, expected)?,
    };
    let servers = crate::edit::list_servers(file, text)?;
    let mut changed = Vec::new();
    for (entry, (found, written)) in expected.iter().zip(data) {
        let written = significant(&written);
        let readings: Vec<&ServerEntry> = servers.iter().filter(|s| s.name == entry.name).collect();
        // The last one is what the apps read: describe that one first.
        let differing = found
            .iter()
            .enumerate()
            .rev()
            .find(|(_, value)| significant(value) != written);
        let Some((index, value)) = differing else {
            continue;
        };
        // `list_servers` reads a name written twice as the apps do: the
        // last one only. An earlier copy (JSON alone allows one) is read
        // from its own value.
        let earlier;
        let reading = if index + 1 == found.len() {
            readings.last().copied()
        } else if file.app.format() == Format::Json {
            earlier = crate::json_shapes::read_entry(file.app, &entry.name, value);
            Some(&earlier)
        } else {
            None
        };
        let mut differences = match reading {
            Some(reading) => neutral_differences(reading, entry),
            None => Vec::new(),
        };
        let not_a_program = matches!(
            differences.first(),
            Some(Difference::Remote(_) | Difference::NotAProgram(_))
        );
        let mut other = differing_keys(&significant(value), &written);
        if !differences.is_empty() {
            other.retain(|key| !PROGRAM_KEYS.contains(&key.as_str()));
        }
        // Something else entirely: its settings are all different.
        if (!other.is_empty() && !not_a_program) || differences.is_empty() {
            differences.push(Difference::OtherSettings(other));
        }
        if found.len() > 1 {
            differences.push(Difference::Repeated);
        }
        changed.push(ChangedEntry {
            name: entry.name.clone(),
            differences,
        });
    }
    Ok(changed)
}

/// Program, arguments and variables of `found` against `entry`'s.
fn neutral_differences(found: &ServerEntry, entry: &BridgeEntry) -> Vec<Difference> {
    let expected = expected_stdio(entry);
    let stdio = match &found.transport {
        Transport::Stdio(stdio) => stdio,
        Transport::Remote(remote) => return vec![Difference::Remote(origin(&remote.url))],
        Transport::Other { kind } => return vec![Difference::NotAProgram(kind.clone())],
    };
    let mut differences = Vec::new();
    if stdio.command != expected.command {
        differences.push(Difference::Program(program_shown(&stdio.command)));
    }
    if stdio.args != expected.args {
        differences.push(Difference::Arguments);
    }
    let value_of = |env: &[(String, String)], name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut added: Vec<String> = Vec::new();
    for (name, _) in &stdio.env {
        if value_of(&expected.env, name).is_none() && !added.contains(name) {
            added.push(name.clone());
        }
    }
    let changed: Vec<String> = expected
        .env
        .iter()
        .filter(|(name, value)| value_of(&stdio.env, name).as_ref() != Some(value))
        .map(|(name, _)| name.clone())
        .collect();
    if !added.is_empty() {
        differences.push(Difference::AddedVariables(added));
    }
    if !changed.is_empty() {
        differences.push(Difference::ChangedVariables(changed));
    }
    differences
}

/// The entry without the settings that are not compared (see the header).
fn significant(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let kept = map.iter().filter(|(key, value)| {
        let empty = match value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::Object(fields) => fields.is_empty(),
            _ => false,
        };
        let harmless = IGNORED_KEYS.contains(&key.as_str())
            || (key.as_str() == "type" && value.as_str() == Some("stdio"))
            || (key.as_str() == "source" && value.as_str() == Some("custom"));
        !empty && !harmless
    });
    Value::Object(kept.map(|(k, v)| (k.clone(), v.clone())).collect())
}

/// Names of the settings whose values differ, in the found entry's order
/// then the expected one's.
fn differing_keys(found: &Value, expected: &Value) -> Vec<String> {
    let (Value::Object(found), Value::Object(expected)) = (found, expected) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = Vec::new();
    for key in found.keys().chain(expected.keys()) {
        if found.get(key) != expected.get(key) && !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    keys
}
