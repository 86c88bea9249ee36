//! Shared by the known-servers tests (`known_servers*.rs`): an engine
//! whose registry is the test peer (`registry_peer`), the pages it serves,
//! and checks of the merged catalog.

use std::path::Path;

use keybearer_vault::server_catalog::{Catalog, Origin};
use keybearer_vault::{Engine, Refresh, RefreshKind};
use serde_json::{json, Value};

use super::registry_peer::{fixture, page, server, RegistryPeer};

pub const CACHE: &str = "registry-cache.json";
pub const CHECKED: &str = "registry-checked.json";

pub fn engine(dir: &Path) -> Engine {
    Engine::open(dir).expect("open")
}

/// Fixture pages 1 and 2 (real servers, all built in) and a third page of
/// two servers only the registry knows.
pub fn good_pages() -> Vec<Value> {
    let first = fixture("registry_page_1.json");
    let mut second = fixture("registry_page_2.json");
    second["metadata"]["nextCursor"] = json!("page-3");
    let third = page(
        vec![
            server(
                "com.example/tasks",
                "Example Tasks",
                "https://tasks.example.com/mcp",
            ),
            server(
                "com.example/notes",
                "Example Notes",
                "https://notes.example.com/mcp",
            ),
        ],
        None,
    );
    vec![first, second, third]
}

/// An engine whose registry is `peer`, after one good full refresh.
pub fn refreshed(dir: &Path, peer: &RegistryPeer) -> Engine {
    peer.serve(&good_pages());
    let engine = engine(dir);
    engine
        .known_servers()
        .set_registry(Some(&peer.base))
        .expect("setting");
    let report = engine
        .known_servers()
        .refresher()
        .expect("refresher")
        .refresh(Refresh::Now)
        .expect("refresh")
        .expect("a report");
    assert_eq!(report.kind, RefreshKind::Full);
    assert_eq!(report.pages, 3);
    engine
}

pub fn ids(catalog: &Catalog) -> Vec<String> {
    catalog
        .entries()
        .iter()
        .filter(|entry| entry.origin == Origin::Registry)
        .map(|entry| entry.id.clone())
        .collect()
}

/// The built-in servers are all there, untouched, and GitHub is the built-in one.
pub fn assert_built_in_intact(catalog: &Catalog) {
    for entry in Catalog::shipped().entries() {
        assert_eq!(catalog.get(&entry.id), Some(entry), "{}", entry.id);
    }
    let github = catalog
        .find_by_url("https://api.githubcopilot.com/mcp/")
        .expect("github");
    assert_eq!(github.id, "github");
    assert_eq!(github.origin, Origin::Shipped);
}

/// Makes the last try (and the cached list) `hours` older.
pub fn age(dir: &Path, hours: i64) {
    for (file, key) in [(CHECKED, "checked_at"), (CACHE, "fetched_at")] {
        let path = dir.join(file);
        let mut value: Value =
            serde_json::from_slice(&std::fs::read(&path).expect(file)).expect("json");
        let at = value[key].as_i64().expect(key);
        value[key] = json!(at - hours * 3_600_000);
        std::fs::write(&path, serde_json::to_vec(&value).expect("json")).expect("write");
    }
}
