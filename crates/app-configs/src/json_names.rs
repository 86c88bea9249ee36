//! Names written twice in a JSON settings file: one reading, applied by
//! every operation (docs/architecture.md, "App connections").
//!
//! JSON leaves a duplicate name's meaning open; the apps' parsers
//! (JavaScript's `JSON.parse` in Claude, Cursor, VS Code, …; VS Code's
//! jsonc-parser; serde_json into a map) all keep the LAST value. A reader
//! that kept the first would show, scan and import an entry the app never
//! uses, while the app's token stays in the file (the attack this module
//! closes: `{"mcpServers": {"a": {…token1}, "a": {…token2}}}`).
//!
//! So: reading (listing, scanning) takes the last value, as the apps do:
//! [`last_prop`] for a single name, [`last_of_each`] for the servers
//! object; nested values (an entry's `headers`, `env`) are read through
//! serde_json, which keeps the last too. Editing refuses a file in which a
//! name that matters is written twice ([`refuse_duplicates`]): the servers
//! key (`mcpServers` …, and opencode's `servers` inside `mcp`), a server's
//! name, and any name anywhere inside a server entry. An edit keeps every
//! byte it does not change, so it would keep the hidden twin, and the user
//! is the one who knows which of the two is meant; the message names the
//! duplicate and asks them to remove one.
//!
//! Limits: names elsewhere in the file (other settings) are not checked;
//! Keybearer neither reads nor edits them. Names are compared after
//! decoding escapes (`"a"` and `"\u0061"` are the same name, as for the
//! apps).

use jsonc_parser::cst::{CstNode, CstObject, CstObjectProp, CstRootNode};

use crate::apps::App;
use crate::error::{Ctx, Error, Result};

/// `obj[name]` as the apps read it: the last property of that name.
pub(crate) fn last_prop(obj: &CstObject, name: &str) -> Option<CstObjectProp> {
    obj.properties()
        .into_iter()
        .rev()
        .find(|prop| prop.decoded_name().as_deref() == Some(name))
}

/// Every property whose name is not written again later, in file order:
/// the entries the apps see.
pub(crate) fn last_of_each(obj: &CstObject) -> Vec<CstObjectProp> {
    let props = obj.properties();
    let names: Vec<Option<String>> = props.iter().map(CstObjectProp::decoded_name).collect();
    props
        .into_iter()
        .enumerate()
        .filter(|(i, _)| {
            names[*i]
                .as_ref()
                .is_some_and(|name| !names[i + 1..].iter().any(|n| n.as_ref() == Some(name)))
        })
        .map(|(_, prop)| prop)
        .collect()
}

/// Refuses to edit a file in which the servers key, a server's name, or a
/// name inside a server entry is written twice.
pub(crate) fn refuse_duplicates(ctx: &Ctx<'_>, root: &CstRootNode) -> Result<()> {
    let Some(top) = root.object_value() else {
        return Ok(());
    };
    let key = ctx.app.servers_key();
    if count(&top, key) > 1 {
        return Err(Error::duplicate_name(ctx, format!("has \"{key}\" twice")));
    }
    let Some(mut servers) = top.get(key).and_then(|p| p.object_value()) else {
        return Ok(());
    };
    if ctx.app == App::OpenCode {
        if count(&servers, "servers") > 1 {
            return Err(Error::duplicate_name(
                ctx,
                format!("has \"servers\" twice inside \"{key}\""),
            ));
        }
        let nested = servers.get("servers").and_then(|p| p.object_value());
        if let Some(nested) = nested.filter(|o| o.get("type").is_none()) {
            servers = nested;
        }
    }
    if let Some(name) = first_duplicate(&servers) {
        return Err(Error::duplicate_name(
            ctx,
            format!("has two servers named \"{name}\""),
        ));
    }
    for prop in servers.properties() {
        let inside = prop.value().and_then(|value| duplicate_within(&value));
        if let (Some(server), Some(name)) = (prop.decoded_name(), inside) {
            return Err(Error::duplicate_name(
                ctx,
                format!("has \"{name}\" twice in the server \"{server}\""),
            ));
        }
    }
    Ok(())
}

fn count(obj: &CstObject, name: &str) -> usize {
    obj.properties()
        .iter()
        .filter(|prop| prop.decoded_name().as_deref() == Some(name))
        .count()
}

fn first_duplicate(obj: &CstObject) -> Option<String> {
    let names: Vec<String> = obj
        .properties()
        .iter()
        .filter_map(CstObjectProp::decoded_name)
        .collect();
    names
        .iter()
        .enumerate()
        .find(|(i, name)| names[..*i].contains(name))
        .map(|(_, name)| name.clone())
}

/// The first name written twice in one object anywhere inside `node`.
/// Nesting is bounded by `limits.rs` before any tree is built.
fn duplicate_within(node: &CstNode) -> Option<String> {
    if let Some(obj) = node.as_object() {
        if let Some(name) = first_duplicate(&obj) {
            return Some(name);
        }
        return obj
            .properties()
            .iter()
            .filter_map(CstObjectProp::value)
            .find_map(|value| duplicate_within(&value));
    }
    node.as_array()?
        .elements()
        .iter()
        .find_map(duplicate_within)
}
