//! Reading and editing goose's `config.yaml` by targeted text edits of the
//! `extensions:` block, so every byte outside the edited entries stays as it
//! was (comments, quoting, key order, other settings).
//!
//! Flow: check the size (`limits.rs`) → parse with yaml-rust2 within the
//! limits of `yaml_limits.rs` (errors → `config_unreadable`, over a limit →
//! `config_too_large`) → find the layout (`yaml_layout.rs`) → splice entry text in or out at line
//! boundaries → parse the result and compare it, as data, with the original
//! document changed exactly as intended (entries added at the end of
//! `extensions`, replaced in place, or removed). Any difference refuses the
//! edit (`edit_check_failed`); nothing is written.
//!
//! A name written twice in one mapping makes the file unreadable here, for
//! listing, scanning and editing alike (the loader refuses it).
//!
//! Limits: no maintained lossless YAML editor was good enough to trust here,
//! hence text edits. Files that are laid out unusually are refused (see
//! `yaml_layout.rs`); a single YAML document only. Removing the last entry
//! leaves `extensions: {}`. New entries use the file's line ends and the
//! indentation of the existing entries (2 spaces by default).

use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

use crate::entries::{
    BridgeEntry, RemoteServer, RemoteTransport, ServerEntry, StdioServer, Transport,
};
use crate::error::{Ctx, Error, Position, Result};
use crate::yaml_layout::{layout, Layout, ValueForm};
use crate::yaml_limits::{load, LoadError};
use crate::yaml_text::{entry_text, entry_yaml};

const KEY: &str = "extensions";
/// goose's default tool-call timeout, in seconds.
pub(crate) const TIMEOUT_SECS: i64 = 300;

fn parse(ctx: &Ctx<'_>, text: &str) -> Result<Yaml> {
    crate::limits::check_size(ctx, text)?;
    let docs = load(text).map_err(|e| match e {
        LoadError::Limit(reason) => Error::too_large(ctx, reason),
        LoadError::Syntax(e) => {
            let at = Position {
                line: e.marker().line().max(1),
                column: e.marker().col() + 1,
            };
            Error::unreadable(ctx, Some(at), yaml_problem(e.info()))
        }
    })?;
    let mut docs = docs.into_iter();
    let root = docs.next().unwrap_or(Yaml::Null);
    if docs.next().is_some() {
        return Err(Error::unsupported(
            ctx,
            "it holds several YAML documents (---)",
        ));
    }
    match root {
        Yaml::Hash(_) | Yaml::Null => Ok(root),
        _ => Err(Error::not_an_object(ctx, "")),
    }
}

/// The whole file as data (the fuzz targets' check of an edit, `fuzzing`).
pub(crate) fn document(ctx: &Ctx<'_>, text: &str) -> Result<serde_json::Value> {
    Ok(crate::data::from_yaml(&parse(ctx, text)?))
}

/// The loader's message in plain words. A name written twice in one
/// mapping is refused for reading and editing alike: YAML forbids it and
/// readers disagree on which one counts (see `json_names.rs` for JSON).
/// The name itself is not quoted (it could be anything, a token included).
fn yaml_problem(info: &str) -> String {
    if info.ends_with("duplicated key in mapping") {
        return "the same name is written twice in one section, so it is not clear which one counts; remove one of them".to_string();
    }
    crate::text::plain_problem(info)
}

/// The `extensions` mapping of a parsed root (`None`: absent or null).
fn extensions<'y>(ctx: &Ctx<'_>, root: &'y Yaml) -> Result<Option<&'y Hash>> {
    let Yaml::Hash(top) = root else {
        return Ok(None);
    };
    match top.get(&Yaml::String(KEY.into())) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(Error::not_an_object(ctx, KEY)),
    }
}

fn text_of(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn field<'y>(h: &'y Hash, key: &str) -> Option<&'y Yaml> {
    h.get(&Yaml::String(key.into()))
}

fn strings(y: Option<&Yaml>) -> Vec<String> {
    match y {
        Some(Yaml::Array(items)) => items.iter().filter_map(text_of).collect(),
        _ => Vec::new(),
    }
}

fn pairs(y: Option<&Yaml>) -> Vec<(String, String)> {
    match y {
        Some(Yaml::Hash(h)) => h
            .iter()
            .filter_map(|(k, v)| Some((text_of(k)?, text_of(v)?)))
            .collect(),
        _ => Vec::new(),
    }
}

fn read_entry(name: String, value: &Yaml) -> ServerEntry {
    let transport = match value {
        Yaml::Hash(h) => {
            let kind = field(h, "type").and_then(text_of).unwrap_or_default();
            let envs = || {
                let mut env = pairs(field(h, "envs"));
                env.extend(pairs(field(h, "env")));
                env
            };
            let remote = |t| {
                Transport::Remote(RemoteServer {
                    url: field(h, "uri").and_then(text_of).unwrap_or_default(),
                    transport: Some(t),
                    headers: pairs(field(h, "headers")),
                    env: envs(),
                })
            };
            match kind.as_str() {
                "stdio" => Transport::Stdio(StdioServer {
                    command: field(h, "cmd").and_then(text_of).unwrap_or_default(),
                    args: strings(field(h, "args")),
                    env: envs(),
                }),
                "sse" => remote(RemoteTransport::Sse),
                "streamable_http" | "streamable-http" | "streamablehttp" => {
                    remote(RemoteTransport::Http)
                }
                "" => Transport::Other {
                    kind: "unrecognised entry".into(),
                },
                other => Transport::Other {
                    kind: format!("goose {other} extension"),
                },
            }
        }
        _ => Transport::Other {
            kind: "not a mapping".into(),
        },
    };
    ServerEntry { name, transport }
}

fn entries_of(h: &Hash) -> Vec<ServerEntry> {
    h.iter()
        .filter_map(|(k, v)| text_of(k).map(|name| read_entry(name, v)))
        .collect()
}

pub(crate) fn list(ctx: &Ctx<'_>, text: &str) -> Result<Vec<ServerEntry>> {
    let root = parse(ctx, text)?;
    Ok(extensions(ctx, &root)?.map(entries_of).unwrap_or_default())
}

/// For each entry: every value the file holds under its name and the value Keybearer writes there, as data.
pub(crate) fn entry_data(
    ctx: &Ctx<'_>,
    text: &str,
    entries: &[BridgeEntry],
) -> Result<Vec<(Vec<serde_json::Value>, serde_json::Value)>> {
    let root = parse(ctx, text)?;
    let found = extensions(ctx, &root)?;
    Ok(entries
        .iter()
        .map(|entry| {
            // `123:` and `"123":` are both the entry "123" to goose.
            let current = found
                .into_iter()
                .flat_map(|h| h.iter())
                .filter(|(k, _)| text_of(k).as_deref() == Some(entry.name.as_str()))
                .map(|(_, v)| crate::data::from_yaml(v))
                .collect();
            (current, crate::data::from_yaml(&entry_yaml(entry)))
        })
        .collect())
}

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    let mut out = text.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.text);
    }
    out
}

fn layout_of(ctx: &Ctx<'_>, text: &str) -> Result<Layout> {
    layout(text).map_err(|why| Error::unsupported(ctx, why))
}

/// Rewrites the `extensions:` key line's value (`~`, `{}`, nothing) to `value`.
fn key_value_edit(text: &str, l: &Layout, value: &str) -> Option<Edit> {
    let key = l.key.as_ref()?;
    let line = l.lines[key.line];
    let mut new = value.to_string();
    if let Some(comment) = &key.comment {
        new.push(' ');
        new.push_str(comment);
    }
    let current = &text[key.after_colon..line.end];
    (current != new).then_some(Edit {
        start: key.after_colon,
        end: line.end,
        text: new,
    })
}

pub(crate) fn upsert(ctx: &Ctx<'_>, text: &str, entries: &[BridgeEntry]) -> Result<String> {
    let root = parse(ctx, text)?;
    let current = extensions(ctx, &root)?.map(entries_of).unwrap_or_default();
    for entry in entries {
        let connection = crate::edit::validate(ctx, entry)?;
        if let Some(found) = current.iter().find(|e| e.name == entry.name) {
            match found.keybearer_connection() {
                Some(id) if id == connection => {}
                Some(_) => return Err(Error::name_taken(ctx, &entry.name, true)),
                None => return Err(Error::name_taken(ctx, &entry.name, false)),
            }
        }
    }
    let l = layout_of(ctx, text)?;
    let nl = if crate::text::uses_crlf(text) {
        "\r\n"
    } else {
        "\n"
    };
    let indent = l.entries.first().map(|e| e.indent).unwrap_or(2);
    let inner = l.inner_indent(text);
    let mut edits = Vec::new();
    let mut appended = String::new();
    for entry in entries {
        let body = entry_text(entry, indent, inner, nl);
        match l.entries.iter().position(|e| e.name == entry.name) {
            Some(i) => {
                let (start, end) = l.entry_span(text, i);
                let body = if text[..end].ends_with('\n') {
                    body
                } else {
                    body.trim_end().to_string()
                };
                edits.push(Edit {
                    start,
                    end,
                    text: body,
                });
            }
            None => appended.push_str(&body),
        }
    }
    if !appended.is_empty() {
        edits.push(insertion(text, &l, nl, appended));
        // `extensions: ~` / `extensions: {}` becomes a block key.
        let inline_value = l
            .key
            .as_ref()
            .is_some_and(|k| matches!(k.form, ValueForm::Null | ValueForm::EmptyFlow));
        if inline_value {
            edits.extend(key_value_edit(text, &l, ""));
        }
    }
    let out = apply(text, edits);
    let mut expected = root;
    set_entries(&mut expected, entries);
    check(ctx, &out, &expected)?;
    Ok(out)
}

/// Where new entries go: after the last entry, else after the key line,
/// else (no `extensions` yet) at the end of the file with a new key.
fn insertion(text: &str, l: &Layout, nl: &str, body: String) -> Edit {
    let at = match (&l.key, l.entries.len()) {
        (Some(_), n) if n > 0 => l.entry_span(text, n - 1).1,
        (Some(key), _) => l.lines[key.line].next,
        (None, _) => text.len(),
    };
    let mut new = String::new();
    if at > 0 && !text[..at].ends_with('\n') {
        new.push_str(nl);
    }
    if l.key.is_none() {
        new.push_str(KEY);
        new.push(':');
        new.push_str(nl);
    }
    new.push_str(&body);
    Edit {
        start: at,
        end: at,
        text: new,
    }
}

/// `root.extensions[name] = entry` for each, new names last.
fn set_entries(root: &mut Yaml, entries: &[BridgeEntry]) {
    if !matches!(root, Yaml::Hash(_)) {
        *root = Yaml::Hash(Hash::new());
    }
    let Yaml::Hash(top) = root else { return };
    let key = Yaml::String(KEY.into());
    // Not `entry().or_insert()`: hashlink moves an existing key to the back.
    if !top.contains_key(&key) {
        top.insert(key.clone(), Yaml::Null);
    }
    let Some(ext) = top.get_mut(&key) else { return };
    if !matches!(ext, Yaml::Hash(_)) {
        *ext = Yaml::Hash(Hash::new());
    }
    if let Yaml::Hash(h) = ext {
        for entry in entries {
            let name = Yaml::String(entry.name.clone());
            match h.get_mut(&name) {
                Some(slot) => *slot = entry_yaml(entry),
                None => {
                    h.insert(name, entry_yaml(entry));
                }
            }
        }
    }
}

pub(crate) fn replace(ctx: &Ctx<'_>, text: &str, entry: &BridgeEntry) -> Result<String> {
    crate::edit::validate(ctx, entry)?;
    let root = parse(ctx, text)?;
    let present = extensions(ctx, &root)?.is_some_and(|h| {
        h.iter()
            .any(|(k, _)| text_of(k).as_deref() == Some(&entry.name))
    });
    if !present {
        return Err(Error::entry_not_found(ctx, &entry.name));
    }
    let l = layout_of(ctx, text)?;
    let i = l
        .entries
        .iter()
        .position(|e| e.name == entry.name)
        .ok_or_else(|| Error::check_failed(ctx))?;
    let nl = if crate::text::uses_crlf(text) {
        "\r\n"
    } else {
        "\n"
    };
    let (start, end) = l.entry_span(text, i);
    let mut body = entry_text(entry, l.entries[i].indent, l.inner_indent(text), nl);
    if !text[..end].ends_with('\n') {
        body.truncate(body.trim_end().len());
    }
    let out = apply(
        text,
        vec![Edit {
            start,
            end,
            text: body,
        }],
    );
    let mut expected = root;
    set_entries(&mut expected, std::slice::from_ref(entry));
    check(ctx, &out, &expected)?;
    Ok(out)
}

pub(crate) fn remove_where(
    ctx: &Ctx<'_>,
    text: &str,
    pick: &dyn Fn(&ServerEntry) -> bool,
) -> Result<String> {
    if text.trim().is_empty() {
        return Ok(text.to_string());
    }
    let root = parse(ctx, text)?;
    let names: Vec<String> = extensions(ctx, &root)?
        .map(entries_of)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| pick(e))
        .map(|e| e.name)
        .collect();
    if names.is_empty() {
        return Ok(text.to_string());
    }
    let l = layout_of(ctx, text)?;
    let mut edits = Vec::new();
    for (i, entry) in l.entries.iter().enumerate() {
        if names.contains(&entry.name) {
            let (start, end) = l.entry_span(text, i);
            edits.push(Edit {
                start,
                end,
                text: String::new(),
            });
        }
    }
    if edits.len() != names.len() {
        return Err(Error::check_failed(ctx));
    }
    if edits.len() == l.entries.len() {
        edits.extend(key_value_edit(text, &l, " {}"));
    }
    let out = apply(text, edits);
    let mut expected = root;
    if let Yaml::Hash(top) = &mut expected {
        if let Some(Yaml::Hash(h)) = top.get_mut(&Yaml::String(KEY.into())) {
            h.retain(|k, _| !text_of(k).is_some_and(|n| names.contains(&n)));
        }
    }
    check(ctx, &out, &expected)?;
    Ok(out)
}

/// The edited text must parse to exactly the expected document.
fn check(ctx: &Ctx<'_>, out: &str, expected: &Yaml) -> Result<()> {
    match load(out) {
        Ok(docs) if docs.len() == 1 && &docs[0] == expected => Ok(()),
        _ => Err(Error::check_failed(ctx)),
    }
}
