//! The public read/edit operations, one function per operation, each
//! dispatching on the app's file format to `jsonc.rs`, `toml.rs` or
//! `yaml.rs`.
//!
//! Every edit takes the file's current text and returns the new text; it
//! never touches the disk (see `write.rs`). An edit either succeeds
//! completely or returns an error and no text, so a caller that writes only
//! on `Ok` never leaves a half-edited file. Missing file: pass `""`; an
//! upsert then returns a minimal new file, a removal returns `""` unchanged.
//! Limits: entries are matched by their exact key; Keybearer's own entries are
//! recognised by their arguments only (see `entries.rs`).

use crate::apps::{App, Format};
use crate::entries::{BridgeEntry, ServerEntry, StdioServer};
use crate::error::{Ctx, Error, Result};
use crate::locations::ConfigFile;
use crate::{jsonc, toml, yaml};

/// Every server entry in the file, in file order (JSON: key order).
pub fn list_servers(file: &ConfigFile, text: &str) -> Result<Vec<ServerEntry>> {
    let ctx = file.ctx();
    match file.app.format() {
        Format::Json => jsonc::list(&ctx, text),
        Format::Toml => toml::list(&ctx, text),
        Format::Yaml => yaml::list(&ctx, text),
    }
}

/// Adds Keybearer's bridge entries, or updates them in place when an entry
/// of that name already bridges the same connection. Refuses (and changes
/// nothing) when a name is used by anything else.
pub fn upsert_bridge_entries(
    file: &ConfigFile,
    text: &str,
    entries: &[BridgeEntry],
) -> Result<String> {
    let ctx = file.ctx();
    for (i, entry) in entries.iter().enumerate() {
        validate(&ctx, entry)?;
        if entries[..i].iter().any(|e| e.name == entry.name) {
            return Err(invalid(&ctx, entry, "the same name is used twice"));
        }
    }
    match file.app.format() {
        Format::Json => jsonc::upsert(&ctx, text, entries),
        Format::Toml => toml::upsert(&ctx, text, entries),
        Format::Yaml => yaml::upsert(&ctx, text, entries),
    }
}

/// Removes the named entries, whoever wrote them. Names not in the file are
/// ignored; with nothing to remove the text comes back unchanged.
pub fn remove_entries(file: &ConfigFile, text: &str, names: &[&str]) -> Result<String> {
    remove_where(file, text, &|e: &ServerEntry| {
        names.contains(&e.name.as_str())
    })
}

/// Removes Keybearer's bridge entries for one connection, and nothing else.
pub fn remove_connection_entries(
    file: &ConfigFile,
    text: &str,
    connection_id: &str,
) -> Result<String> {
    remove_where(file, text, &|e: &ServerEntry| e.is_ours(connection_id))
}

/// Names of Keybearer's bridge entries for one connection.
pub fn find_connection_entries(
    file: &ConfigFile,
    text: &str,
    connection_id: &str,
) -> Result<Vec<String>> {
    Ok(list_servers(file, text)?
        .into_iter()
        .filter(|e| e.is_ours(connection_id))
        .map(|e| e.name)
        .collect())
}

/// Import: replaces the existing entry named `entry.name` (typically a remote
/// server with a pasted token) by the bridge entry, in the same place.
pub fn replace_with_bridge(file: &ConfigFile, text: &str, entry: &BridgeEntry) -> Result<String> {
    let ctx = file.ctx();
    match file.app.format() {
        Format::Json => jsonc::replace(&ctx, text, entry),
        Format::Toml => toml::replace(&ctx, text, entry),
        Format::Yaml => yaml::replace(&ctx, text, entry),
    }
}

fn remove_where(
    file: &ConfigFile,
    text: &str,
    pick: &dyn Fn(&ServerEntry) -> bool,
) -> Result<String> {
    let ctx = file.ctx();
    match file.app.format() {
        Format::Json => jsonc::remove_where(&ctx, text, pick),
        Format::Toml => toml::remove_where(&ctx, text, pick),
        Format::Yaml => yaml::remove_where(&ctx, text, pick),
    }
}

fn invalid(ctx: &Ctx<'_>, entry: &BridgeEntry, reason: &str) -> Error {
    Error::InvalidEntry {
        app: ctx.app.display_name(),
        name: entry.name.clone(),
        reason: reason.to_string(),
    }
}

/// Checks a bridge entry before it is written; returns its connection id.
pub(crate) fn validate<'e>(ctx: &Ctx<'_>, entry: &'e BridgeEntry) -> Result<&'e str> {
    if entry.name.trim().is_empty() || entry.name.chars().any(char::is_control) {
        return Err(invalid(
            ctx,
            entry,
            "the name is empty or has control characters",
        ));
    }
    if entry.command.trim().is_empty() {
        return Err(invalid(ctx, entry, "the program path is empty"));
    }
    let all_text = std::iter::once(&entry.command)
        .chain(&entry.args)
        .chain(entry.env.iter().flat_map(|(k, v)| [k, v]));
    if all_text.into_iter().any(|s| s.contains('\0')) {
        return Err(invalid(ctx, entry, "a value contains a NUL character"));
    }
    if ctx.app == App::Goose && entry.name.contains(['\n', '\r']) {
        return Err(invalid(ctx, entry, "the name contains a line break"));
    }
    entry
        .connection_id()
        .ok_or_else(|| invalid(ctx, entry, "the arguments do not name a connection"))
}

/// Same program, arguments in order, environment as a set.
pub(crate) fn same_stdio(found: &StdioServer, expected: &StdioServer) -> bool {
    let sorted = |env: &[(String, String)]| {
        let mut env = env.to_vec();
        env.sort();
        env
    };
    found.command == expected.command
        && found.args == expected.args
        && sorted(&found.env) == sorted(&expected.env)
}
