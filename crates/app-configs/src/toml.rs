//! Reading and editing Codex's `config.toml` with `toml_edit`, which keeps
//! comments, key order and formatting of everything not edited.
//!
//! Flow: check size, nesting and number of values (`limits.rs`) → parse →
//! find `mcp_servers` (a table; created implicit when missing, so no bare
//! `[mcp_servers]` header appears) → add `[mcp_servers.NAME]`
//! tables (placed after the existing servers), replace or remove them →
//! print → parse again and check the entries read back as written. A file
//! written with CRLF line ends is edited as LF and turned back, because
//! `toml_edit` prints LF.
//!
//! Limits: `mcp_servers` written as an inline table (`mcp_servers = {…}`) is
//! refused rather than rewritten, and so is an addition or a removal (of
//! one entry) that would move lines of the file (its dotted `mcp_servers.…` keys spread among other
//! settings: `toml_edit` prints them together); a replaced entry becomes a standard table
//! even if it was written inline or with dotted keys.

use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use crate::entries::{
    BridgeEntry, RemoteServer, RemoteTransport, ServerEntry, StdioServer, Transport,
};
use crate::error::{Ctx, Error, Result};

const KEY: &str = "mcp_servers";

/// Parses, remembering whether the file used CRLF line ends throughout.
fn parse(ctx: &Ctx<'_>, text: &str) -> Result<(DocumentMut, bool)> {
    crate::limits::check_size(ctx, text)?;
    crate::limits::check_toml(ctx, text)?;
    let crlf = crate::text::uses_crlf(text);
    let source = if crlf {
        text.replace("\r\n", "\n")
    } else {
        text.to_string()
    };
    let doc = source.parse::<DocumentMut>().map_err(|e| {
        let at = e
            .span()
            .map(|span| crate::text::position_of(&source, span.start));
        Error::unreadable(ctx, at, crate::text::plain_problem(e.message()))
    })?;
    Ok((doc, crlf))
}

/// The whole file as data (the fuzz targets' check of an edit, `fuzzing`).
pub(crate) fn document(ctx: &Ctx<'_>, text: &str) -> Result<serde_json::Value> {
    Ok(crate::data::from_toml_item(parse(ctx, text)?.0.as_item()))
}

fn print(doc: &DocumentMut, crlf: bool) -> String {
    let out = doc.to_string();
    if crlf {
        out.replace('\n', "\r\n")
    } else {
        out
    }
}

fn servers<'d>(ctx: &Ctx<'_>, doc: &'d DocumentMut) -> Result<Option<&'d dyn TableLike>> {
    match doc.get(KEY) {
        None => Ok(None),
        Some(item) => item
            .as_table_like()
            .map(Some)
            .ok_or_else(|| Error::not_an_object(ctx, KEY)),
    }
}

fn servers_mut<'d>(ctx: &Ctx<'_>, doc: &'d mut DocumentMut) -> Result<&'d mut Table> {
    if doc.get(KEY).is_none() {
        let mut table = Table::new();
        table.set_implicit(true);
        doc.insert(KEY, Item::Table(table));
    }
    match doc.get_mut(KEY) {
        Some(Item::Table(table)) => Ok(table),
        Some(item) if item.is_inline_table() => Err(Error::unsupported(
            ctx,
            "\"mcp_servers\" is written on one line ({ … }); Keybearer edits it only as [mcp_servers.NAME] sections",
        )),
        _ => Err(Error::not_an_object(ctx, KEY)),
    }
}

fn string_of(item: Option<&Item>) -> Option<String> {
    item.and_then(Item::as_str).map(str::to_string)
}

fn strings(item: Option<&Item>) -> Vec<String> {
    item.and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(item: Option<&Item>) -> Vec<(String, String)> {
    item.and_then(Item::as_table_like)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.to_string(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn read_entry(name: &str, item: &Item) -> ServerEntry {
    let transport = match item.as_table_like() {
        None => Transport::Other {
            kind: "not a table".into(),
        },
        Some(t) => {
            if let Some(command) = string_of(t.get("command")) {
                Transport::Stdio(StdioServer {
                    command,
                    args: strings(t.get("args")),
                    env: pairs(t.get("env")),
                })
            } else if let Some(url) = string_of(t.get("url")) {
                let mut headers = pairs(t.get("http_headers"));
                // Older Codex releases took the token itself.
                if let Some(token) = string_of(t.get("bearer_token")) {
                    headers.push(("Authorization".into(), format!("Bearer {token}")));
                }
                Transport::Remote(RemoteServer {
                    url,
                    transport: Some(RemoteTransport::Http),
                    headers,
                    env: pairs(t.get("env")),
                })
            } else {
                Transport::Other {
                    kind: "unrecognised entry".into(),
                }
            }
        }
    };
    ServerEntry {
        name: name.to_string(),
        transport,
    }
}

fn entries_of(t: &dyn TableLike) -> Vec<ServerEntry> {
    t.iter()
        .map(|(name, item)| read_entry(name, item))
        .collect()
}

pub(crate) fn list(ctx: &Ctx<'_>, text: &str) -> Result<Vec<ServerEntry>> {
    let (doc, _) = parse(ctx, text)?;
    Ok(servers(ctx, &doc)?.map(entries_of).unwrap_or_default())
}

/// For each entry: the value the file holds under its name (TOML allows a
/// name once) and the value Keybearer writes there, as data.
pub(crate) fn entry_data(
    ctx: &Ctx<'_>,
    text: &str,
    entries: &[BridgeEntry],
) -> Result<Vec<(Vec<serde_json::Value>, serde_json::Value)>> {
    let (doc, _) = parse(ctx, text)?;
    let found = servers(ctx, &doc)?;
    Ok(entries
        .iter()
        .map(|entry| {
            let current = found
                .and_then(|t| t.get(&entry.name))
                .map(crate::data::from_toml_item)
                .into_iter()
                .collect();
            let written = crate::data::from_toml_item(&Item::Table(bridge_table(entry)));
            (current, written)
        })
        .collect())
}

fn bridge_table(entry: &BridgeEntry) -> Table {
    let mut table = Table::new();
    table["command"] = toml_edit::value(entry.command.as_str());
    table["args"] = toml_edit::value(entry.args.iter().map(String::as_str).collect::<Array>());
    let mut env = InlineTable::new();
    for (k, v) in &entry.env {
        env.insert(k, Value::from(v.as_str()));
    }
    table["env"] = toml_edit::value(env);
    // Codex starts stdio servers with a fixed handful of variables (HOME,
    // PATH, USER, …) plus these: the bridge needs the session bus to reach
    // the keychain (codex-rs rmcp-client, DEFAULT_ENV_VARS / `env_vars`).
    table["env_vars"] = toml_edit::value(
        ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]
            .into_iter()
            .collect::<Array>(),
    );
    table
}

pub(crate) fn upsert(ctx: &Ctx<'_>, text: &str, entries: &[BridgeEntry]) -> Result<String> {
    let (mut doc, crlf) = parse(ctx, text)?;
    let existing = servers(ctx, &doc)?.map(entries_of).unwrap_or_default();
    for entry in entries {
        let connection = crate::edit::validate(ctx, entry)?;
        if let Some(found) = existing.iter().find(|e| e.name == entry.name) {
            match found.keybearer_connection() {
                Some(id) if id == connection => {}
                Some(_) => return Err(Error::name_taken(ctx, &entry.name, true)),
                None => return Err(Error::name_taken(ctx, &entry.name, false)),
            }
        }
    }
    let table = servers_mut(ctx, &mut doc)?;
    for entry in entries {
        set_entry(table, entry);
    }
    let out = finish(ctx, &doc, crlf, entries, &[])?;
    // `toml_edit` prints a table's dotted keys together: where the file
    // spreads `mcp_servers.…` keys among other settings, adding a table
    // would move lines the user wrote. Only adding is checked (an entry
    // rewritten in place changes its own lines).
    let adds_only = entries
        .iter()
        .all(|entry| !existing.iter().any(|e| e.name == entry.name));
    if adds_only && !crate::text::only_added(text, &out) {
        return Err(Error::unsupported(
            ctx,
            "adding the entry would move other lines of it (settings of mcp_servers written as dotted keys among other settings)",
        ));
    }
    Ok(out)
}

/// Writes the entry in place of one of the same name, else after the others.
fn set_entry(table: &mut Table, entry: &BridgeEntry) {
    let fresh = bridge_table(entry);
    match table.get_mut(&entry.name) {
        Some(Item::Table(old)) => {
            let position = old.position();
            let decor = old.decor().clone();
            *old = fresh;
            old.set_position(position);
            *old.decor_mut() = decor;
        }
        Some(other) => *other = Item::Table(fresh),
        None => {
            table.insert(&entry.name, Item::Table(fresh));
        }
    }
}

pub(crate) fn replace(ctx: &Ctx<'_>, text: &str, entry: &BridgeEntry) -> Result<String> {
    crate::edit::validate(ctx, entry)?;
    let (mut doc, crlf) = parse(ctx, text)?;
    let present = servers(ctx, &doc)?.is_some_and(|t| t.contains_key(&entry.name));
    if !present {
        return Err(Error::entry_not_found(ctx, &entry.name));
    }
    set_entry(servers_mut(ctx, &mut doc)?, entry);
    finish(ctx, &doc, crlf, std::slice::from_ref(entry), &[])
}

pub(crate) fn remove_where(
    ctx: &Ctx<'_>,
    text: &str,
    pick: &dyn Fn(&ServerEntry) -> bool,
) -> Result<String> {
    if text.trim().is_empty() {
        return Ok(text.to_string());
    }
    let (mut doc, crlf) = parse(ctx, text)?;
    let names: Vec<String> = servers(ctx, &doc)?
        .map(entries_of)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| pick(e))
        .map(|e| e.name)
        .collect();
    if names.is_empty() {
        return Ok(text.to_string());
    }
    let Some(table) = doc.get_mut(KEY).and_then(Item::as_table_like_mut) else {
        return Err(Error::check_failed(ctx));
    };
    for name in &names {
        table.remove(name);
    }
    let out = finish(ctx, &doc, crlf, &[], &names)?;
    // As for an addition: the entry's lines go, no other line moves.
    if names.len() == 1 && !crate::text::only_taken_out(text, &out) {
        return Err(Error::unsupported(
            ctx,
            "removing the entry would move other lines of it (settings of mcp_servers written as dotted keys among other settings)",
        ));
    }
    Ok(out)
}

fn finish(
    ctx: &Ctx<'_>,
    doc: &DocumentMut,
    crlf: bool,
    written: &[BridgeEntry],
    removed: &[String],
) -> Result<String> {
    let out = print(doc, crlf);
    let listed = list(ctx, &out).map_err(|_| Error::check_failed(ctx))?;
    let written_ok = written.iter().all(|entry| {
        listed.iter().any(|e| {
            e.name == entry.name
                && matches!(&e.transport, Transport::Stdio(s)
                    if crate::edit::same_stdio(s, &crate::json_shapes::expected_stdio(entry)))
        })
    });
    if !written_ok || listed.iter().any(|e| removed.contains(&e.name)) {
        return Err(Error::check_failed(ctx));
    }
    Ok(out)
}
