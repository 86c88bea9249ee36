//! goose's bridge entry written as YAML text (`yaml.rs` splices it into the
//! file) and as the data that text must read back as (checked after every
//! edit): one shape, `TIMEOUT_SECS` included, in one place.

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use crate::entries::BridgeEntry;
use crate::yaml::TIMEOUT_SECS;

/// The entry as data, as the written text must read back.
pub(crate) fn entry_yaml(entry: &BridgeEntry) -> Yaml {
    let s = |v: &str| Yaml::String(v.to_string());
    let mut h = Hash::new();
    h.insert(s("enabled"), Yaml::Boolean(true));
    h.insert(s("type"), s("stdio"));
    h.insert(s("name"), s(&entry.name));
    h.insert(s("cmd"), s(&entry.command));
    h.insert(
        s("args"),
        Yaml::Array(entry.args.iter().map(|a| s(a)).collect()),
    );
    let mut envs = Hash::new();
    for (k, v) in &entry.env {
        envs.insert(s(k), s(v));
    }
    h.insert(s("envs"), Yaml::Hash(envs));
    h.insert(s("timeout"), Yaml::Integer(TIMEOUT_SECS));
    Yaml::Hash(h)
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML 1.2).
fn quoted(v: &str) -> String {
    serde_json::Value::String(v.to_string()).to_string()
}

/// A mapping key: plain when unambiguous, else quoted.
fn key_text(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        name.to_string()
    } else {
        quoted(name)
    }
}

/// The entry's lines, each ending with `nl`.
pub(crate) fn entry_text(entry: &BridgeEntry, indent: usize, inner: usize, nl: &str) -> String {
    let pad = " ".repeat(indent);
    let pad2 = " ".repeat(indent + inner);
    let pad3 = " ".repeat(indent + 2 * inner);
    let mut out = format!("{pad}{}:{nl}", key_text(&entry.name));
    out.push_str(&format!("{pad2}enabled: true{nl}{pad2}type: stdio{nl}"));
    out.push_str(&format!("{pad2}name: {}{nl}", quoted(&entry.name)));
    out.push_str(&format!("{pad2}cmd: {}{nl}", quoted(&entry.command)));
    if entry.args.is_empty() {
        out.push_str(&format!("{pad2}args: []{nl}"));
    } else {
        out.push_str(&format!("{pad2}args:{nl}"));
        for arg in &entry.args {
            out.push_str(&format!("{pad3}- {}{nl}", quoted(arg)));
        }
    }
    if entry.env.is_empty() {
        out.push_str(&format!("{pad2}envs: {{}}{nl}"));
    } else {
        out.push_str(&format!("{pad2}envs:{nl}"));
        for (k, v) in &entry.env {
            out.push_str(&format!("{pad3}{}: {}{nl}", quoted(k), quoted(v)));
        }
    }
    out.push_str(&format!("{pad2}timeout: {TIMEOUT_SECS}{nl}"));
    out
}
