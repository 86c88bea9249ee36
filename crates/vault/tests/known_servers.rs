//! The known servers refreshed from an MCP Registry (a real local HTTP
//! server, `tests/registry-peer`, answering like the registry): every page
//! read and kept under the built-in servers; exactly the list request sent;
//! hostile or broken answers (not JSON, wrong shape, too big, an error
//! status, a redirect, no answer, a body that never ends, a bad second page)
//! refused with nothing changed; bad servers skipped with reasons; the
//! once-a-day rule and updates (`updated_since`); offline from the cache;
//! the registry's address as a setting; a changed cache file checked again.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use keybearer_vault::server_catalog::{Catalog, Origin};
use keybearer_vault::{Engine, ErrorCode, Refresh, RefreshKind, DEFAULT_REGISTRY};
use serde_json::{json, Value};
use support::registry_peer::{fixture, page, server, RegistryPeer};

const CACHE: &str = "registry-cache.json";
const CHECKED: &str = "registry-checked.json";

fn engine(dir: &Path) -> Engine {
    Engine::open(dir).expect("open")
}

/// Fixture pages 1 and 2 (real servers, all built in) and a third page of
/// two servers only the registry knows.
fn good_pages() -> Vec<Value> {
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
fn refreshed(dir: &Path, peer: &RegistryPeer) -> Engine {
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

fn ids(catalog: &Catalog) -> Vec<String> {
    catalog
        .entries()
        .iter()
        .filter(|entry| entry.origin == Origin::Registry)
        .map(|entry| entry.id.clone())
        .collect()
}

/// The built-in servers are all there, untouched, and GitHub is the built-in one.
fn assert_built_in_intact(catalog: &Catalog) {
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
fn age(dir: &Path, hours: i64) {
    for (file, key) in [(CHECKED, "checked_at"), (CACHE, "fetched_at")] {
        let path = dir.join(file);
        let mut value: Value =
            serde_json::from_slice(&std::fs::read(&path).expect(file)).expect("json");
        let at = value[key].as_i64().expect(key);
        value[key] = json!(at - hours * 3_600_000);
        std::fs::write(&path, serde_json::to_vec(&value).expect("json")).expect("write");
    }
}

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

/// Each refused answer: the refresh fails with a plain reason, the cache
/// file is byte for byte what it was, and the catalog is unchanged.
#[test]
fn refused_answers_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let before = std::fs::read(dir.path().join(CACHE)).expect("cache");
    let catalog_before = engine.known_servers().catalog();
    let refresher = engine.known_servers().refresher().expect("refresher");

    let mut huge = String::from(r#"{"servers": [], "padding": ""#);
    huge.push_str(&"x".repeat(9 * 1024 * 1024));
    huge.push_str(r#""}"#);
    let mut bad_second = good_pages();
    bad_second[1] = json!({ "text": "{\"servers\": [" });
    bad_second.truncate(2);
    let cases: Vec<(&str, Vec<Value>, &str, &str)> = vec![
        (
            "not JSON",
            vec![json!({ "text": "<html>Service Unavailable</html>" })],
            "pages",
            "not JSON",
        ),
        (
            "wrong shape",
            vec![json!({ "servers": "none" })],
            "pages",
            "not a list of servers",
        ),
        (
            "wrong types",
            vec![json!({ "servers": [], "metadata": { "nextCursor": 7 } })],
            "pages",
            "not a list of servers",
        ),
        (
            "too big",
            vec![json!({ "text": huge })],
            "pages",
            "bigger than the 8 MiB",
        ),
        ("a bad second page", bad_second, "pages", "not JSON"),
        ("an error status", good_pages(), "status", "HTTP 500"),
        (
            "a redirect to elsewhere",
            good_pages(),
            "redirect",
            "does not follow",
        ),
        (
            "a closed connection",
            good_pages(),
            "close",
            "could not be reached",
        ),
    ];
    for (case, pages, mode, words) in cases {
        peer.serve(&pages);
        peer.mode(mode);
        let error = refresher.refresh(Refresh::Now).expect_err(case);
        assert_eq!(error.code(), ErrorCode::RegistryFailed, "{case}");
        let message = error.to_string();
        assert!(message.contains(words), "{case}: {message}");
        assert!(message.contains(&peer.base), "{case}: {message}");
        assert!(message.contains("Nothing was changed"), "{case}: {message}");
        assert_eq!(
            std::fs::read(dir.path().join(CACHE)).expect("cache"),
            before,
            "{case}: the cache was changed"
        );
        let catalog = engine.known_servers().catalog();
        assert_eq!(catalog, catalog_before, "{case}");
        assert_built_in_intact(&catalog);
    }
    assert_eq!(peer.elsewhere(), 0, "the redirect was followed");

    // No answer at all, and an answer that never ends: the quick refresh
    // (the CLI's, when a day has passed) gives up after its few seconds.
    for mode in ["hang", "drip"] {
        peer.serve(&good_pages());
        peer.mode(mode);
        age(dir.path(), 25);
        let started = Instant::now();
        let error = refresher.refresh(Refresh::Quick).expect_err(mode);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(15), "{mode}: {took:?}");
        assert!(
            error.to_string().contains("within 5 seconds"),
            "{mode}: {error}"
        );
        let now = std::fs::read(dir.path().join(CACHE)).expect("cache");
        let mut stored: Value = serde_json::from_slice(&now).expect("json");
        let mut original: Value = serde_json::from_slice(&before).expect("json");
        stored["fetched_at"] = json!(0);
        original["fetched_at"] = json!(0);
        assert_eq!(stored, original, "{mode}: the cache was changed");
        assert_eq!(engine.known_servers().catalog(), catalog_before, "{mode}");
        // The try counts: not asked again within the day.
        assert!(!refresher.due(), "{mode}");
    }
}

#[test]
fn bad_servers_are_skipped_with_reasons_and_cannot_take_a_built_in_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let peer = RegistryPeer::start();
    let engine = refreshed(dir.path(), &peer);
    let refresher = engine.known_servers().refresher().expect("refresher");

    let mut servers = vec![
        server("com.example/evil", "Evil", "javascript:alert(1)"),
        server("com.example/plain", "Plain", "http://plain.example.com/mcp"),
        server(
            "com.example/bidi",
            "Pay\u{202e}lapyap",
            "https://bidi.example.com/mcp",
        ),
        // A look-alike claiming GitHub's address and registry name.
        server(
            "io.github.github/github-mcp-server",
            "GitHub (official!)",
            "https://api.githubcopilot.com/mcp/",
        ),
        server(
            "com.example/fake-github",
            "GitHub",
            "https://api.githubcopilot.com/mcp/",
        ),
        server("com.example/fine", "Fine", "https://fine.example.com/mcp"),
    ];
    // Then 10,000 more: only the page's first 500 servers are read.
    servers.extend((0..10_000).map(|index| {
        server(
            &format!("com.example/bulk-{index}"),
            &format!("Bulk {index}"),
            &format!("https://bulk-{index}.example.com/mcp"),
        )
    }));
    peer.serve(&[page(servers, None)]);
    let report = refresher
        .refresh(Refresh::Now)
        .expect("accepted")
        .expect("report");
    let reasons: Vec<String> = report
        .skipped
        .iter()
        .map(|skip| format!("{}: {}", skip.server, skip.reason))
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0].contains("evil") && reasons[0].contains("https"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("plain"), "{reasons:?}");
    assert!(
        reasons[2].contains("bidi") && reasons[2].contains("invisible"),
        "{reasons:?}"
    );
    // The look-alike with GitHub's address after it on the page.
    assert!(reasons[3].contains("fake-github"), "{reasons:?}");
    assert_eq!(report.received, 500 - 4);
    assert!(report.known <= 500);

    let catalog = engine.known_servers().catalog();
    assert_built_in_intact(&catalog);
    let registry = ids(&catalog);
    assert!(registry.contains(&"com.example/fine".to_string()));
    for gone in [
        "com.example/evil",
        "com.example/plain",
        "com.example/bidi",
        "com.example/fake-github",
    ] {
        assert!(!registry.contains(&gone.to_string()), "{gone}");
    }
    assert!(!registry.contains(&"com.example/bulk-9999".to_string()));
    // A full refresh replaces the list: the first refresh's servers are gone.
    assert!(!registry.contains(&"com.example/tasks".to_string()));
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
