//! The known servers refreshed from an MCP Registry (a real local HTTP
//! server, `tests/registry-peer`, answering like the registry): every page
//! read and kept under the built-in servers; exactly the list request sent;
//! the once-a-day rule and updates (`updated_since`); offline from the
//! cache; the registry's address as a setting; a changed cache file checked
//! again. Hostile answers: known_servers_hostile.rs.

mod support;

use keybearer_vault::server_catalog::Catalog;
use keybearer_vault::{ErrorCode, Refresh, RefreshKind, DEFAULT_REGISTRY};
use serde_json::{json, Value};
use support::known_servers::{age, assert_built_in_intact, engine, ids, refreshed, CACHE};
use support::registry_peer::{page, server, RegistryPeer};

#[test]
fn every_page_is_read_and_kept_under_the_built_in_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    // Before any refresh: the built-in servers alone.
    let engine = engine(dir.path());
    assert_eq!(
        engine.known_servers().registry().expect("registry"),
        DEFAULT_REGISTRY
    );
    assert_eq!(
        engine.known_servers().catalog().len(),
        Catalog::shipped().len()
    );
    drop(engine);

    let engine = refreshed(dir.path(), &peer);
    let catalog = engine.known_servers().catalog();
    assert_eq!(ids(&catalog), ["com.example/notes", "com.example/tasks"]);
    assert_eq!(catalog.len(), Catalog::shipped().len() + 2);
    assert_built_in_intact(&catalog);
    assert!(catalog
        .search("tasks")
        .iter()
        .any(|entry| entry.id == "com.example/tasks"));

    // Exactly the list request, page after page: no cookie, no token,
    // nothing but Host, Accept and User-Agent.
    let requests = peer.requests();
    assert_eq!(requests.len(), 3);
    let cursors: Vec<Value> = requests
        .iter()
        .map(|request| request["query"]["cursor"].clone())
        .collect();
    assert_eq!(
        cursors,
        [
            json!(null),
            json!("io.github.upstash/context7:2.0.0"),
            json!("page-3")
        ]
    );
    for request in &requests {
        assert_eq!(request["method"], "GET");
        assert_eq!(request["query"]["limit"], "100");
        assert_eq!(request["query"]["version"], "latest");
        assert!(request["query"].get("updated_since").is_none(), "{request}");
        let names: Vec<&str> = request["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .filter_map(|header| header[0].as_str())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["accept", "host", "user-agent"], "{request}");
        let agent = request["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .find(|header| header[0] == "user-agent")
            .and_then(|header| header[1].as_str())
            .expect("user-agent");
        assert!(agent.starts_with("keybearer/"), "{agent}");
    }

    // The cache: written whole, only this user's, of this registry.
    let cache = dir.path().join(CACHE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache)
            .expect("cache")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let stored: Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("cache")).expect("json");
    assert_eq!(stored["registry"], peer.base.as_str());
    assert!(
        !stored.to_string().contains("packages"),
        "only what is read is kept"
    );
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn once_a_day_and_then_only_the_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let refresher = engine.known_servers().refresher().expect("refresher");
    assert_eq!(peer.list_requests(), 3);

    // Within the day: nothing is asked.
    assert!(!refresher.due());
    assert!(refresher.refresh(Refresh::Quick).expect("quick").is_none());
    assert!(refresher
        .refresh(Refresh::Background)
        .expect("background")
        .is_none());
    assert_eq!(peer.list_requests(), 3);

    // A day later: the changes since the cached list, one request.
    age(dir.path(), 25);
    assert!(refresher.due());
    let fetched_at: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(CACHE)).expect("cache"))
            .expect("json");
    let fetched_at = fetched_at["fetched_at"].as_i64().expect("fetched_at");
    peer.serve(&[page(
        vec![
            json!({
                "server": { "name": "com.example/notes", "version": "2.0.0",
                            "remotes": [{ "type": "streamable-http", "url": "https://notes.example.com/mcp" }] },
                "_meta": { "io.modelcontextprotocol.registry/official": { "status": "deleted", "isLatest": true } }
            }),
            server("com.example/tasks", "Example Tasks", "https://tasks.example.com/v2/mcp"),
            server("com.example/new", "Example New", "https://new.example.com/mcp"),
        ],
        None,
    )]);
    let report = refresher
        .refresh(Refresh::Quick)
        .expect("quick")
        .expect("report");
    assert_eq!(report.kind, RefreshKind::Update);
    assert_eq!(report.removed, 1);
    assert_eq!(peer.list_requests(), 4);
    let last = peer.requests().pop().expect("request");
    let since = last["query"]["updated_since"]
        .as_str()
        .expect("updated_since");
    // An hour before the cached list's time, in whole seconds.
    let expected =
        time::OffsetDateTime::from_unix_timestamp((fetched_at - 3_600_000).div_euclid(1000))
            .expect("time")
            .format(&time::format_description::well_known::Rfc3339)
            .expect("format");
    assert_eq!(since, expected);
    let catalog = engine.known_servers().catalog();
    assert_eq!(ids(&catalog), ["com.example/new", "com.example/tasks"]);
    assert_eq!(
        catalog.get("com.example/tasks").expect("tasks").remotes[0].url,
        "https://tasks.example.com/v2/mcp"
    );

    // And not again within the day.
    assert!(refresher.refresh(Refresh::Quick).expect("quick").is_none());
    assert_eq!(peer.list_requests(), 4);
}

#[test]
fn offline_the_cached_list_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let registry = peer.base.clone();
    let before = engine.known_servers().catalog();
    drop(peer); // the port is closed now

    let refresher = engine.known_servers().refresher().expect("refresher");
    let error = refresher.refresh(Refresh::Now).expect_err("offline");
    assert!(
        error.to_string().contains("could not be reached"),
        "{error}"
    );
    assert!(error.to_string().contains(&registry), "{error}");
    let catalog = engine.known_servers().catalog();
    assert_eq!(catalog, before);
    assert_eq!(ids(&catalog), ["com.example/notes", "com.example/tasks"]);

    // Offline without a cached list: the built-in servers.
    let other = tempfile::tempdir().expect("tempdir");
    let engine = self::engine(other.path());
    engine
        .known_servers()
        .set_registry(Some(&registry))
        .expect("setting");
    assert!(engine
        .known_servers()
        .refresher()
        .expect("refresher")
        .refresh(Refresh::Background)
        .is_err());
    assert_eq!(
        engine.known_servers().catalog().entries(),
        Catalog::shipped().entries()
    );
}

#[test]
fn the_registry_is_a_setting_and_another_registrys_list_is_not_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    assert_eq!(
        engine.known_servers().registry().expect("registry"),
        peer.base
    );
    for refused in [
        "http://registry.example.com",
        "javascript:alert(1)",
        "https://u:p@r.example.com",
    ] {
        let error = engine
            .known_servers()
            .set_registry(Some(refused))
            .expect_err(refused);
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{refused}");
    }
    assert_eq!(
        engine.known_servers().registry().expect("registry"),
        peer.base
    );

    // Another registry: its list is not the cached one.
    engine
        .known_servers()
        .set_registry(Some("https://registry.example.com/v0.1/servers"))
        .expect("setting");
    assert_eq!(
        engine.known_servers().registry().expect("registry"),
        "https://registry.example.com"
    );
    assert_eq!(
        engine.known_servers().catalog().len(),
        Catalog::shipped().len()
    );
    assert!(engine.known_servers().refresher().expect("refresher").due());
    // Back: the cached list again, and back to the official registry.
    engine
        .known_servers()
        .set_registry(Some(&peer.base))
        .expect("setting");
    assert_eq!(ids(&engine.known_servers().catalog()).len(), 2);
    assert_eq!(
        engine.known_servers().set_registry(None).expect("reset"),
        DEFAULT_REGISTRY
    );
    assert_eq!(
        engine.known_servers().registry().expect("registry"),
        DEFAULT_REGISTRY
    );
}

#[test]
fn a_changed_cache_file_is_checked_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let path = dir.path().join(CACHE);
    let mut stored: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("cache")).expect("json");
    stored["servers"]
        .as_array_mut()
        .expect("servers")
        .push(server("com.example/evil", "Evil", "javascript:alert(1)"));
    std::fs::write(&path, serde_json::to_vec(&stored).expect("json")).expect("write");
    let catalog = engine.known_servers().catalog();
    assert_eq!(ids(&catalog), ["com.example/notes", "com.example/tasks"]);

    // Not JSON, or too big: the built-in servers alone, no error.
    std::fs::write(&path, b"{not json").expect("write");
    assert_eq!(
        engine.known_servers().catalog().len(),
        Catalog::shipped().len()
    );
    std::fs::write(&path, vec![b' '; 17 * 1024 * 1024]).expect("write");
    assert_eq!(
        engine.known_servers().catalog().len(),
        Catalog::shipped().len()
    );
}
