//! Reading and editing the JSON/JSONC settings files (every app but Codex
//! and goose), keeping everything Keybearer does not touch as it was.
//!
//! Flow: check size, nesting and number of values (`limits.rs`) → parse
//! into a concrete syntax tree (`jsonc-parser`'s CST, which keeps comments,
//! whitespace, key order and trailing commas) → find the
//! servers object (`mcpServers`, `servers`, `context_servers`, `mcp` or
//! opencode v2's `mcp.servers`) → append, replace or remove single
//! properties → print the tree → parse the result again and check that the
//! entries read back as written. Parsing accepts comments and trailing
//! commas (JSONC) and nothing looser, so a file an app would reject is not
//! "fixed" behind the user's back. A name written twice is read as the apps
//! read it (the last wins), and a file with a duplicate that matters is
//! never edited (`json_names.rs`).
//!
//! Limits: a servers object written on one line is made multi-line when an
//! entry is added (the printer adds line breaks inside that object only);
//! new entries go last; string values are written with standard escapes.

use jsonc_parser::cst::{CstInputValue, CstObject, CstObjectProp, CstRootNode};
use jsonc_parser::errors::{ParseError, ParseErrorKind};
use jsonc_parser::{ParseOptions, ScannerOptions};

use crate::apps::App;
use crate::entries::{BridgeEntry, ServerEntry, Transport};
use crate::error::{Ctx, Error, Position, Result};
use crate::json_names::{last_of_each, last_prop, refuse_duplicates};
use crate::json_shapes::{bridge_value, expected_stdio, read_entry};
use crate::text::only_added;
use serde_json::Value;

fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// The tokenizer's share of [`options`], for `limits::check_json`.
fn scanner_options() -> ScannerOptions {
    let o = options();
    ScannerOptions {
        allow_single_quoted_strings: o.allow_single_quoted_strings,
        allow_hexadecimal_numbers: o.allow_hexadecimal_numbers,
        allow_unary_plus_numbers: o.allow_unary_plus_numbers,
        allow_bare_decimal_point_numbers: o.allow_bare_decimal_point_numbers,
        allow_non_finite_numbers: o.allow_non_finite_numbers,
        allow_extended_string_escapes: o.allow_extended_string_escapes,
    }
}

/// A parsed file and where its servers are.
struct Doc {
    root: CstRootNode,
    /// The file was empty or missing: print a fresh file.
    fresh: bool,
}

fn parse(ctx: &Ctx<'_>, text: &str) -> Result<Doc> {
    crate::limits::check_size(ctx, text)?;
    crate::limits::check_json(ctx, text, &scanner_options())?;
    let fresh = text.trim().is_empty();
    let source = if fresh { "{}" } else { text };
    let root = CstRootNode::parse(source, &options()).map_err(|e| parse_error(ctx, &e))?;
    match root.value() {
        Some(value) if value.as_object().is_some() => Ok(Doc { root, fresh }),
        // Only comments: an empty object, as the apps read it.
        None => {
            root.set_value(CstInputValue::Object(Vec::new()));
            Ok(Doc { root, fresh: false })
        }
        Some(_) => Err(Error::not_an_object(ctx, "")),
    }
}

/// The whole file as data (the fuzz targets' check of an edit, `fuzzing`).
pub(crate) fn document(ctx: &Ctx<'_>, text: &str) -> Result<serde_json::Value> {
    Ok(parse(ctx, text)?
        .root
        .to_serde_value()
        .unwrap_or(serde_json::Value::Null))
}

pub(crate) fn parse_error(ctx: &Ctx<'_>, e: &ParseError) -> Error {
    let problem = match e.kind() {
        ParseErrorKind::ExpectedComma => "expected a comma".to_string(),
        ParseErrorKind::ExpectedColonAfterObjectKey => "expected a colon after the name".into(),
        ParseErrorKind::UnterminatedObject => "a { is never closed with }".into(),
        ParseErrorKind::UnterminatedArray => "a [ is never closed with ]".into(),
        ParseErrorKind::UnexpectedCloseBrace => "there is a } too many".into(),
        ParseErrorKind::UnexpectedCloseBracket => "there is a ] too many".into(),
        ParseErrorKind::SingleQuotedStringsNotAllowed => {
            "text must be in double quotes (\"…\"), not single quotes".into()
        }
        ParseErrorKind::ExpectedStringObjectProperty => "a name must be in double quotes".into(),
        ParseErrorKind::UnexpectedComma | ParseErrorKind::UnexpectedTokenInObject => {
            "something unexpected is here (a stray comma or a missing quote?)".into()
        }
        ParseErrorKind::UnterminatedCommentBlock => "a /* comment is never closed with */".into(),
        other => lowercase_first(&other.to_string()),
    };
    Error::unreadable(
        ctx,
        Some(Position {
            line: e.line_display(),
            column: e.column_display(),
        }),
        problem,
    )
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The servers object, if the file has one. `Err` when the key holds
/// something other than an object (or null).
fn servers(ctx: &Ctx<'_>, root: &CstRootNode) -> Result<Option<(CstObject, bool)>> {
    let Some(top) = root.object_value() else {
        return Ok(None);
    };
    let key = ctx.app.servers_key();
    let Some(obj) = object_at(ctx, &top, key)? else {
        return Ok(None);
    };
    // opencode v2 nests the servers one level deeper: mcp.servers.
    if ctx.app == App::OpenCode {
        if let Some(prop) = last_prop(&obj, "servers") {
            let is_v1_server_named_servers =
                prop.object_value().is_some_and(|o| o.get("type").is_some());
            if !is_v1_server_named_servers {
                let nested = object_at(ctx, &obj, "servers")?;
                return Ok(nested.map(|o| (o, true)));
            }
        }
    }
    Ok(Some((obj, false)))
}

/// `parent[key]` as an object: `None` when absent or null.
fn object_at(ctx: &Ctx<'_>, parent: &CstObject, key: &str) -> Result<Option<CstObject>> {
    let Some(prop) = last_prop(parent, key) else {
        return Ok(None);
    };
    match prop.value() {
        Some(v) if v.as_object().is_some() => Ok(v.as_object()),
        Some(v) if v.as_null_keyword().is_some() => Ok(None),
        _ => Err(Error::not_an_object(ctx, key)),
    }
}

/// The servers object, created (or a `null` replaced) when missing.
fn servers_or_create(ctx: &Ctx<'_>, root: &CstRootNode) -> Result<(CstObject, bool)> {
    if let Some(found) = servers(ctx, root)? {
        return Ok(found);
    }
    let top = root
        .object_value()
        .ok_or_else(|| Error::not_an_object(ctx, ""))?;
    let key = ctx.app.servers_key();
    let empty = || CstInputValue::Object(Vec::new());
    let created = match last_prop(&top, key) {
        None => top.append(key, empty()).object_value().map(|o| (o, false)),
        Some(prop) => {
            // opencode v2 with `"servers": null` inside `mcp`.
            let inner = if ctx.app == App::OpenCode {
                prop.object_value()
                    .and_then(|mcp| last_prop(&mcp, "servers"))
            } else {
                None
            };
            match inner {
                Some(inner) => {
                    inner.set_value(empty());
                    inner.object_value().map(|o| (o, true))
                }
                None => {
                    prop.set_value(empty());
                    prop.object_value().map(|o| (o, false))
                }
            }
        }
    };
    created.ok_or_else(|| Error::check_failed(ctx))
}

fn entry_of(app: App, prop: &CstObjectProp) -> Option<ServerEntry> {
    let name = prop.decoded_name()?;
    let value = prop.value().and_then(|v| v.to_serde_value())?;
    Some(read_entry(app, &name, &value))
}

/// The entries as the app sees them (a name written twice: the last).
fn entries_of(app: App, obj: &CstObject) -> Vec<(CstObjectProp, ServerEntry)> {
    last_of_each(obj)
        .into_iter()
        .filter_map(|p| entry_of(app, &p).map(|e| (p, e)))
        .collect()
}

pub(crate) fn list(ctx: &Ctx<'_>, text: &str) -> Result<Vec<ServerEntry>> {
    let doc = parse(ctx, text)?;
    Ok(match servers(ctx, &doc.root)? {
        Some((obj, _)) => entries_of(ctx.app, &obj)
            .into_iter()
            .map(|(_, e)| e)
            .collect(),
        None => Vec::new(),
    })
}

/// For each entry: every value the file holds under its name (a JSON
/// object may repeat a name; apps read the last), and the value Keybearer
/// writes there, as data.
pub(crate) fn entry_data(
    ctx: &Ctx<'_>,
    text: &str,
    entries: &[BridgeEntry],
) -> Result<Vec<(Vec<Value>, Value)>> {
    let doc = parse(ctx, text)?;
    let found = servers(ctx, &doc.root)?;
    let nested = found.as_ref().is_some_and(|(_, nested)| *nested);
    let props = found.map(|(obj, _)| obj.properties()).unwrap_or_default();
    Ok(entries
        .iter()
        .map(|entry| {
            let current = props
                .iter()
                .filter(|p| p.decoded_name().as_deref() == Some(entry.name.as_str()))
                .map(|p| {
                    p.value()
                        .and_then(|v| v.to_serde_value())
                        .unwrap_or(Value::Null)
                })
                .collect();
            let written = crate::data::from_cst(&bridge_value(ctx.app, entry, nested));
            (current, written)
        })
        .collect())
}

fn print(doc: &Doc) -> String {
    let mut out = doc.root.to_string();
    if doc.fresh && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

pub(crate) fn upsert(ctx: &Ctx<'_>, text: &str, entries: &[BridgeEntry]) -> Result<String> {
    let doc = parse(ctx, text)?;
    refuse_duplicates(ctx, &doc.root)?;
    // Servers written `null` are replaced by a table (not only added to).
    let null_servers = servers(ctx, &doc.root)?.is_none()
        && doc
            .root
            .object_value()
            .is_some_and(|top| last_prop(&top, ctx.app.servers_key()).is_some());
    let (obj, nested) = servers_or_create(ctx, &doc.root)?;
    // Check every name before changing anything.
    let mut plan = Vec::with_capacity(entries.len());
    for entry in entries {
        let connection = crate::edit::validate(ctx, entry)?;
        let existing = obj.get(&entry.name);
        if let Some(prop) = &existing {
            let current = entry_of(ctx.app, prop);
            let owner = current.as_ref().and_then(ServerEntry::keybearer_connection);
            match owner {
                Some(id) if id == connection => {}
                Some(_) => return Err(Error::name_taken(ctx, &entry.name, true)),
                None => return Err(Error::name_taken(ctx, &entry.name, false)),
            }
        }
        plan.push((entry, existing));
    }
    let adds_only = plan.iter().all(|(_, existing)| existing.is_none());
    for (entry, existing) in plan {
        let value = bridge_value(ctx.app, entry, nested);
        match existing {
            Some(prop) => prop.set_value(value),
            None => {
                obj.append(&entry.name, value);
            }
        }
    }
    let mut out = print(&doc);
    if adds_only && !doc.fresh && !only_added(text, &out) {
        out = blank_lines_back(text, out);
        if !null_servers && !only_added(text, &out) {
            return Err(Error::unsupported(
                ctx,
                "adding the entry would change other lines of it",
            ));
        }
    }
    verify(ctx, &out, entries, &[])?;
    Ok(out)
}

/// `jsonc-parser` drops a blank line under an object's open brace when it
/// appends to the object (found by the fuzz target `settings_jsonc`): the
/// whitespace the old text had where the new one first differs is put
/// back, the shortest run of it that makes the edit an addition only.
fn blank_lines_back(text: &str, out: String) -> String {
    let at = text
        .char_indices()
        .zip(out.chars())
        .find(|((_, old), new)| old != new)
        .map_or(text.len().min(out.len()), |((at, _), _)| at);
    let gap: String = text[at..]
        .chars()
        .take_while(char::is_ascii_whitespace)
        .collect();
    for end in gap.char_indices().map(|(i, c)| i + c.len_utf8()) {
        let candidate = format!("{}{}{}", &out[..at], &gap[..end], &out[at..]);
        if only_added(text, &candidate) {
            return candidate;
        }
    }
    out
}

pub(crate) fn replace(ctx: &Ctx<'_>, text: &str, entry: &BridgeEntry) -> Result<String> {
    crate::edit::validate(ctx, entry)?;
    let doc = parse(ctx, text)?;
    refuse_duplicates(ctx, &doc.root)?;
    let prop = servers(ctx, &doc.root)?
        .and_then(|(obj, nested)| obj.get(&entry.name).map(|p| (p, nested)));
    let Some((prop, nested)) = prop else {
        return Err(Error::entry_not_found(ctx, &entry.name));
    };
    prop.set_value(bridge_value(ctx.app, entry, nested));
    let out = print(&doc);
    verify(ctx, &out, std::slice::from_ref(entry), &[])?;
    Ok(out)
}

/// Removes the entries `pick` selects. Returns the text unchanged when
/// nothing matched (so callers can skip the write).
pub(crate) fn remove_where(
    ctx: &Ctx<'_>,
    text: &str,
    pick: &dyn Fn(&ServerEntry) -> bool,
) -> Result<String> {
    if text.trim().is_empty() {
        return Ok(text.to_string());
    }
    let doc = parse(ctx, text)?;
    let Some((obj, _)) = servers(ctx, &doc.root)? else {
        return Ok(text.to_string());
    };
    let doomed: Vec<(CstObjectProp, String)> = entries_of(ctx.app, &obj)
        .into_iter()
        .filter(|(_, e)| pick(e))
        .map(|(p, e)| (p, e.name))
        .collect();
    if doomed.is_empty() {
        return Ok(text.to_string());
    }
    refuse_duplicates(ctx, &doc.root)?;
    let names: Vec<String> = doomed.iter().map(|(_, n)| n.clone()).collect();
    for (prop, _) in doomed {
        prop.remove();
    }
    let out = print(&doc);
    verify(ctx, &out, &[], &names)?;
    Ok(out)
}

/// Reads `out` back: every written entry must read as written, every
/// removed name must be gone.
fn verify(ctx: &Ctx<'_>, out: &str, written: &[BridgeEntry], removed: &[String]) -> Result<()> {
    let listed = list(ctx, out).map_err(|_| Error::check_failed(ctx))?;
    for entry in written {
        let ok = listed.iter().any(|e| {
            e.name == entry.name
                && matches!(&e.transport, Transport::Stdio(s) if crate::edit::same_stdio(s, &expected_stdio(entry)))
        });
        if !ok {
            return Err(Error::check_failed(ctx));
        }
    }
    if listed.iter().any(|e| removed.contains(&e.name)) {
        return Err(Error::check_failed(ctx));
    }
    Ok(())
}
