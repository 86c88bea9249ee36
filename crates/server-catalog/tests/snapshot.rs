//! What a refresh leaves for the next run: the usable servers, trimmed to
//! the fields read, read back with the same checks as a fresh answer, and an
//! update (`updated_since`) applied to a cached copy.

use keybearer_server_catalog::{parse_registry_page, RegistryCollection, Snapshot};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn collect(pages: &[&[u8]]) -> RegistryCollection {
    let mut collection = RegistryCollection::new();
    for bytes in pages {
        match parse_registry_page(bytes) {
            Ok(page) => {
                collection.add(page);
            }
            Err(error) => panic!("refused: {error}"),
        }
    }
    collection
}

fn servers(snapshot: &Snapshot) -> Vec<Value> {
    match serde_json::to_value(snapshot) {
        Ok(Value::Array(servers)) => servers,
        other => panic!("not an array: {other:?}"),
    }
}

fn ids(entries: &[keybearer_server_catalog::Entry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.id.as_str()).collect()
}

fn server(name: &str, url: &str) -> Value {
    json!({
        "server": { "name": name, "description": "A test server.", "version": "1.0.0",
                    "remotes": [{ "type": "streamable-http", "url": url }] }
    })
}

fn page(servers: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "servers": servers, "metadata": {} })).expect("json")
}

#[test]
fn a_snapshot_reads_back_as_the_same_entries() {
    let page_1 = fixture("registry_page_1.json");
    let page_2 = fixture("registry_page_2.json");
    let collection = collect(&[&page_1, &page_2]);
    let snapshot = Snapshot::from_collection(&collection);
    assert_eq!(snapshot.len(), collection.entries().len());

    let stored = serde_json::to_vec(&snapshot).expect("json");
    let back: Vec<Value> = serde_json::from_slice(&stored).expect("array");
    let loaded = Snapshot::read(back);
    assert_eq!(loaded.entries, collection.entries());
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    assert_eq!(loaded.snapshot, snapshot);
}

#[test]
fn only_what_is_read_is_kept() {
    let page_1 = fixture("registry_page_1.json");
    let collection = collect(&[&page_1]);
    let kept = servers(&Snapshot::from_collection(&collection));
    let text = serde_json::to_string(&kept).expect("json");
    // Packages, versions, schemas and the registry's own metadata are dropped.
    for gone in ["packages", "\"version\"", "$schema", "_meta", "publishedAt"] {
        assert!(!text.contains(gone), "{gone} kept: {text}");
    }
    // Neon's plain x-read-only switch is not a secret header: not kept.
    let neon = kept
        .iter()
        .find(|server| server["server"]["name"] == "com.neon/mcp")
        .expect("neon");
    let headers: Vec<&str> = neon["server"]["remotes"]
        .as_array()
        .expect("remotes")
        .iter()
        .flat_map(|remote| remote["headers"].as_array().into_iter().flatten())
        .filter_map(|header| header["name"].as_str())
        .collect();
    assert_eq!(headers, ["Authorization"], "{neon}");
}

#[test]
fn a_cached_copy_is_checked_like_a_fresh_answer() {
    let collection = collect(&[&page(vec![server(
        "com.example/good",
        "https://good.example.com/mcp",
    )])]);
    let mut cached = servers(&Snapshot::from_collection(&collection));
    // Someone edits the cache: a javascript: address, a wrong type, junk.
    cached.push(server("com.example/evil", "javascript:alert(1)"));
    cached.push(json!({ "server": { "name": 7 } }));
    cached.push(json!("junk"));
    let loaded = Snapshot::read(cached);
    assert_eq!(ids(&loaded.entries), ["com.example/good"]);
    assert_eq!(loaded.skipped.len(), 3, "{:?}", loaded.skipped);
    assert_eq!(loaded.snapshot.len(), 1);
}

#[test]
fn an_update_drops_replaces_and_adds() {
    let full = collect(&[&page(vec![
        server("com.example/gone", "https://gone.example.com/mcp"),
        server("com.example/tasks", "https://tasks.example.com/v1/mcp"),
        server("com.example/old", "https://old.example.com/mcp"),
        server("com.example/stays", "https://stays.example.com/mcp"),
    ])]);
    let snapshot = Snapshot::from_collection(&full);
    assert_eq!(snapshot.len(), 4);

    // Deleted, a new version (beside its older one), deprecated.
    let mut changes = collect(&[&fixture("registry_sync_updates.json")]);
    let added = parse_registry_page(&page(vec![server(
        "com.example/new",
        "https://new.example.com/mcp",
    )]))
    .expect("page");
    changes.add(added);
    let updated = snapshot.updated(&changes);
    let loaded = Snapshot::read(servers(&updated));
    assert_eq!(
        ids(&loaded.entries),
        ["com.example/tasks", "com.example/stays", "com.example/new"]
    );
    assert_eq!(
        loaded.entries[0].remotes[0].url,
        "https://tasks.example.com/v2/mcp"
    );
    // The snapshot it came from is unchanged.
    assert_eq!(snapshot.len(), 4);
}

#[test]
fn an_update_that_makes_a_server_unusable_drops_it() {
    let full = collect(&[&page(vec![server(
        "com.example/turned",
        "https://turned.example.com/mcp",
    )])]);
    let snapshot = Snapshot::from_collection(&full);
    let changes = collect(&[&page(vec![server(
        "com.example/turned",
        "http://turned.example.com/mcp",
    )])]);
    assert_eq!(changes.skipped().len(), 1);
    assert!(snapshot.updated(&changes).is_empty());
}
