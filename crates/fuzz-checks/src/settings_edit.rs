//! `settings_jsonc`, `settings_toml`, `settings_yaml`: any settings file,
//! any edit Keybearer makes to it (connect, disconnect, import).
//!
//! Input: a byte choosing the app (among those of the format), a byte
//! choosing the edit, a byte choosing the name it is about (an entry the
//! file holds, or one of a few awkward new names), then the file's text.
//! The edits: add a bridge entry under a new name or an existing one
//! (`upsert_bridge_entries`), remove an entry (`remove_entries`), replace
//! one by a bridge entry (`replace_with_bridge`, import), remove
//! Keybearer's entries of one connection (`remove_connection_entries`).
//!
//! Properties: an edit either refuses, in printable words, or gives a file
//! that parses, whose entries are the old ones with exactly the edit made
//! (the others in their order), whose data outside the edited entries is the old data,
//! and whose bytes are the old ones but for the edited entry: an added
//! entry only inserts text (the old text of the region it changed stays
//! whole inside it), a removed one only takes text out (an emptied table
//! may be left as `{}`), and
//! a replaced one, taken out again, leaves what taking out the old one
//! leaves. A file that cannot be read is never edited (a removal may give
//! it back as it was).

use app_configs::fuzzing::document;
use app_configs::{
    list_servers, remove_connection_entries, remove_entries, replace_with_bridge,
    upsert_bridge_entries, App, BridgeEntry, ConfigFile, Format, ServerEntry, StdioServer,
    Transport,
};
use keybearer_base::text::printable;
use serde_json::Value;

use crate::input::byte;

const PROGRAM: &str = "/opt/keybearer/bin/keybearer";
const CONNECTION: &str = "con_fuzz";
/// New names that are awkward in one format or another.
const NAMES: [&str; 12] = [
    "keybearer",
    "a.b",
    "with space",
    "quote\"d",
    "ünïcödé",
    "- dash",
    "#hash",
    "key: value",
    "[table]",
    "back\\slash",
    "'single'",
    "",
];

pub fn settings_jsonc(data: &[u8]) {
    settings_edit(Format::Json, data);
}

pub fn settings_toml(data: &[u8]) {
    settings_edit(Format::Toml, data);
}

pub fn settings_yaml(data: &[u8]) {
    settings_edit(Format::Yaml, data);
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    AddNew,
    AddExisting,
    Remove,
    Replace,
    RemoveConnection,
}

fn settings_edit(format: Format, data: &[u8]) {
    let apps: Vec<App> = App::ALL
        .into_iter()
        .filter(|app| app.format() == format)
        .collect();
    let app = apps[usize::from(byte(data, 0)) % apps.len()];
    let edit = [
        Edit::AddNew,
        Edit::AddExisting,
        Edit::Remove,
        Edit::Replace,
        Edit::RemoveConnection,
    ][usize::from(byte(data, 1) % 5)];
    let Ok(old) = std::str::from_utf8(data.get(3..).unwrap_or_default()) else {
        return;
    };
    let file = ConfigFile::new(app, format!("/home/ada/settings.{}", app.id()));
    let before = list_servers(&file, old);
    let pick = usize::from(byte(data, 2));
    let name = match (&before, edit) {
        (_, Edit::AddNew) | (_, Edit::RemoveConnection) => NAMES[pick % NAMES.len()].to_string(),
        (Ok(entries), _) if !entries.is_empty() => entries[pick % entries.len()].name.clone(),
        _ => NAMES[pick % NAMES.len()].to_string(),
    };
    let bridge = BridgeEntry::new(
        name.as_str(),
        PROGRAM,
        CONNECTION,
        "https://mcp.example.com/mcp",
    );
    let result = match edit {
        Edit::AddNew | Edit::AddExisting => {
            upsert_bridge_entries(&file, old, std::slice::from_ref(&bridge))
        }
        Edit::Remove => remove_entries(&file, old, &[name.as_str()]),
        Edit::Replace => replace_with_bridge(&file, old, &bridge),
        Edit::RemoveConnection => remove_connection_entries(&file, old, CONNECTION),
    };
    let new = match result {
        Ok(new) => new,
        Err(error) => {
            let text = error.to_string();
            assert!(!text.trim().is_empty());
            assert_eq!(printable(&text), text, "a refusal holds control characters");
            return;
        }
    };
    if old == new && before.is_err() {
        // Nothing to remove from a file that cannot be read: left as it is.
        return;
    }
    let before = before.expect("a file that cannot be read is never edited");
    let after = list_servers(&file, &new).expect("the edited file parses");
    let ours = Transport::Stdio(StdioServer {
        command: PROGRAM.to_string(),
        args: bridge.args.clone(),
        env: Vec::new(),
    });
    let existed = before.iter().any(|e| e.name == name);
    // The entries: the old ones with exactly this edit made.
    let edited: Vec<&str> = match edit {
        Edit::RemoveConnection => before
            .iter()
            .filter(|e| e.is_ours(CONNECTION))
            .map(|e| e.name.as_str())
            .collect(),
        _ => vec![name.as_str()],
    };
    if matches!(edit, Edit::AddNew | Edit::AddExisting) && existed {
        let entry = before.iter().find(|e| e.name == name).expect("the entry");
        assert!(
            entry.is_ours(CONNECTION),
            "an entry of someone else was overwritten"
        );
    }
    if matches!(edit, Edit::Replace) {
        assert!(existed, "replaced a missing entry");
    }
    // The other entries stay, in their order. The edited one is there once,
    // as written, or gone. (A replaced TOML entry written with dotted keys
    // becomes a `[mcp_servers.NAME]` table, which comes after them: where
    // an entry stands among the others changes nothing an app does.)
    let others = |entries: &[ServerEntry]| -> Vec<ServerEntry> {
        entries
            .iter()
            .filter(|e| !edited.contains(&e.name.as_str()))
            .cloned()
            .collect()
    };
    assert!(
        others(&after) == others(&before),
        "the other entries are not the old ones"
    );
    let written: Vec<&ServerEntry> = after.iter().filter(|e| e.name == name).collect();
    match edit {
        Edit::AddNew | Edit::AddExisting | Edit::Replace => assert!(
            written.len() == 1 && written[0].transport == ours,
            "the entry is not written once as Keybearer's"
        ),
        Edit::Remove | Edit::RemoveConnection => assert!(
            after.iter().all(|e| !edited.contains(&e.name.as_str())),
            "a removed entry is still there"
        ),
    }

    // The data outside the edited entries.
    let old_doc = document(&file, old).expect("the old file reads");
    let new_doc = document(&file, &new).expect("the new file reads");
    assert_eq!(
        without(app, old_doc, &edited),
        without(app, new_doc, &edited),
        "data outside the edited entry changed"
    );

    // The bytes outside the edited entry (a blank file is written anew).
    if old == new || old.trim().is_empty() {
        return;
    }
    match edit {
        Edit::AddNew | Edit::AddExisting | Edit::Replace if existed => {
            // Compared through a removal of the entry, where both can be
            // removed (a removal may refuse a layout it cannot edit).
            let names = [name.as_str()];
            if let (Ok(old_out), Ok(new_out)) = (
                remove_entries(&file, old, &names),
                remove_entries(&file, &new, &names),
            ) {
                assert_eq!(old_out, new_out, "the edit changed text outside the entry");
            }
        }
        Edit::AddNew | Edit::AddExisting | Edit::Replace => only_inserted(old, &new),
        Edit::Remove | Edit::RemoveConnection if edited.len() == 1 => only_taken_out(old, &new),
        Edit::Remove | Edit::RemoveConnection => {}
    }
}

/// The document with the named entries taken out of the servers' table
/// (an empty table counts as none: an edit may add or leave one).
fn without(app: App, mut doc: Value, names: &[&str]) -> Value {
    if doc.is_null() {
        doc = Value::Object(Default::default());
    }
    let key = app.servers_key();
    let Some(root) = doc.as_object_mut() else {
        return doc;
    };
    let nested = app == App::OpenCode
        && root
            .get(key)
            .and_then(|v| v.get("servers"))
            .is_some_and(Value::is_object);
    let container = match (nested, root.get_mut(key)) {
        (true, Some(mcp)) => mcp.get_mut("servers"),
        (false, found) => found,
        (true, None) => None,
    };
    if let Some(Value::Object(servers)) = container {
        for name in names {
            servers.remove(*name);
        }
    }
    let empty = |v: &Value| v.as_object().is_some_and(|o| o.is_empty()) || v.is_null();
    if root.get(key).is_some_and(empty) {
        root.remove(key);
    }
    doc
}

/// `edited` is `original` with text inserted, nothing taken out or
/// changed: around one changed region every byte is in place, and what the
/// region held is still there, whole, inside the new text (an editor may
/// open up a one-line object around the entry it adds).
fn only_inserted(original: &str, edited: &str) {
    let (old_mid, new_mid) = changed(original.as_bytes(), edited.as_bytes());
    // A servers' table written `null` is replaced by one.
    let null = String::from_utf8_lossy(old_mid).trim() == "null";
    assert!(
        old_mid.is_empty() || null || crate::input::contains(new_mid, old_mid),
        "text around the edit changed: {:?} became {:?}",
        String::from_utf8_lossy(old_mid),
        String::from_utf8_lossy(new_mid),
    );
}

/// `edited` is `original` with one region taken out; an emptied table may
/// be left written as `{}` (YAML's `extensions:` with nothing under it
/// would read as no table at all).
fn only_taken_out(original: &str, edited: &str) {
    let (old_mid, new_mid) = changed(original.as_bytes(), edited.as_bytes());
    let left = String::from_utf8_lossy(new_mid);
    assert!(
        matches!(left.trim(), "" | "{}"),
        "a removal changed text around the entry: {:?} became {left:?}",
        String::from_utf8_lossy(old_mid),
    );
}

/// The regions of `a` and `b` between their common beginning and end.
fn changed<'a, 'b>(a: &'a [u8], b: &'b [u8]) -> (&'a [u8], &'b [u8]) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix])
}
