//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use app_configs::{App, BridgeEntry, ConfigFile};

pub const KB: &str = "/opt/keybearer/bin/keybearer";

pub fn file(app: App) -> ConfigFile {
    ConfigFile::new(app, format!("/home/ada/{}.cfg", app.id()))
}

pub fn bridge(name: &str, connection: &str) -> BridgeEntry {
    BridgeEntry::new(name, KB, connection, "https://mcp.example.com/mcp")
}

pub fn bridge_with_env(name: &str, connection: &str) -> BridgeEntry {
    let mut e = bridge(name, connection);
    e.env = vec![
        ("KEYBEARER_PROFILE".into(), "work".into()),
        ("LOG_LEVEL".into(), "warn".into()),
    ];
    e
}

/// The edit changed one contiguous region and deleted nothing from it:
/// every byte of the original outside that region is in place, and what
/// the region held is still inside the new text.
pub fn assert_only_inserted(original: &str, edited: &str) {
    let a = original.as_bytes();
    let b = edited.as_bytes();
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let max_suffix = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let old_mid = &original[prefix..original.len() - suffix];
    let new_mid = &edited[prefix..edited.len() - suffix];
    assert!(
        new_mid.contains(old_mid),
        "the edit removed or changed existing text: {old_mid:?} became {new_mid:?}"
    );
}

/// Every comment line of the original is still in the edited text.
pub fn assert_comments_kept(original: &str, edited: &str, marker: &str) {
    for line in original.lines() {
        if let Some(i) = line.find(marker) {
            let comment = &line[i..];
            assert!(edited.contains(comment), "comment lost: {comment}");
        }
    }
}

/// JSONC text → serde_json value.
pub fn json(text: &str) -> serde_json::Value {
    let opts = jsonc_parser::ParseOptions::default();
    jsonc_parser::cst::CstRootNode::parse(text, &opts)
        .unwrap()
        .to_serde_value()
        .unwrap()
}
