//! Broken and hostile MCP Registry answers: refused whole when not JSON, too
//! big or of the wrong shape; single bad servers skipped with a reason; limits
//! kept; and the shipped catalog never changed by any of it.

use keybearer_server_catalog::{
    parse_registry_page, Catalog, Entry, Origin, Page, RegistryCollection, RegistryError, Remote,
    SignIn, Transport, MAX_ENTRIES_PER_PAGE, MAX_PAGES, MAX_PAGE_BYTES, MAX_TOTAL_ENTRIES,
};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn parse(bytes: &[u8]) -> Page {
    match parse_registry_page(bytes) {
        Ok(page) => page,
        Err(error) => panic!("refused: {error}"),
    }
}

fn refused(bytes: &[u8]) -> RegistryError {
    match parse_registry_page(bytes) {
        Ok(page) => panic!("accepted: {page:?}"),
        Err(error) => error,
    }
}

fn server(index: usize) -> serde_json::Value {
    json!({
        "server": {
            "name": format!("com.example/server-{index}"),
            "title": format!("Server {index}"),
            "description": "A test server.",
            "version": "1.0.0",
            "remotes": [{ "type": "streamable-http", "url": format!("https://s{index}.example.com/mcp") }]
        },
        "_meta": { "io.modelcontextprotocol.registry/official": { "status": "active", "isLatest": true } }
    })
}

fn page_of(servers: Vec<serde_json::Value>, cursor: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "servers": servers, "metadata": { "nextCursor": cursor } }))
        .expect("json")
}

fn assert_says_nothing_is_lost(error: &RegistryError) {
    let message = error.to_string();
    assert!(
        message.contains("built-in list of servers is still used"),
        "{message}"
    );
}

#[test]
fn an_answer_that_is_not_json_is_refused() {
    let error = refused(&fixture("hostile_not_json.txt"));
    assert!(matches!(error, RegistryError::NotJson { .. }), "{error:?}");
    assert_says_nothing_is_lost(&error);
    assert!(matches!(refused(b""), RegistryError::NotJson { .. }));
    assert!(matches!(
        refused(b"{\"servers\": [}"),
        RegistryError::NotJson { .. }
    ));
    // Nesting deep enough to exhaust a recursive parser.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        refused(deep.as_bytes()),
        RegistryError::NotJson { .. }
    ));
}

#[test]
fn an_answer_of_the_wrong_shape_is_refused() {
    let error = refused(&fixture("hostile_wrong_shape.json"));
    assert!(
        matches!(error, RegistryError::WrongShape { .. }),
        "{error:?}"
    );
    assert_says_nothing_is_lost(&error);
    for body in [
        "[]",
        "null",
        "\"servers\"",
        "{}",
        r#"{"servers": null}"#,
        r#"{"servers": [], "metadata": {"nextCursor": 5}}"#,
        r#"{"servers": [], "metadata": "x"}"#,
    ] {
        assert!(
            matches!(refused(body.as_bytes()), RegistryError::WrongShape { .. }),
            "{body}"
        );
    }
}

#[test]
fn a_hostile_next_page_marker_is_refused() {
    let control = page_of(vec![server(1)], Some("abc\u{1b}[2J"));
    assert!(matches!(
        refused(&control),
        RegistryError::WrongShape { .. }
    ));
    let long = page_of(vec![server(1)], Some(&"c".repeat(5_000)));
    assert!(matches!(refused(&long), RegistryError::WrongShape { .. }));
    // An empty marker means the last page.
    assert_eq!(parse(&page_of(vec![server(1)], Some(""))).next_cursor, None);
}

#[test]
fn an_answer_bigger_than_the_cap_is_refused_before_parsing() {
    let mut body = page_of(vec![server(1)], None);
    body.resize(MAX_PAGE_BYTES + 1, b' ');
    let error = refused(&body);
    assert_eq!(
        error,
        RegistryError::TooBig {
            size: MAX_PAGE_BYTES + 1
        }
    );
    assert_says_nothing_is_lost(&error);
    // At the cap it is read.
    body.truncate(MAX_PAGE_BYTES);
    assert_eq!(parse(&body).entries.len(), 1);
}

#[test]
fn servers_with_wrong_types_are_skipped_and_the_rest_kept() {
    let page = parse(&fixture("hostile_wrong_types.json"));
    assert_eq!(page.listed, 8);
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["com.example/fine"]);
    assert_eq!(page.skipped.len(), 7, "{:#?}", page.skipped);
    for skip in &page.skipped {
        assert!(
            skip.reason.contains("wrong type") || skip.reason.contains("shape"),
            "{skip}"
        );
    }
    assert_eq!(
        page.skipped[0].server, "#1",
        "a server without a usable name is named by position"
    );
}

#[test]
fn javascript_plain_http_and_credential_addresses_are_skipped() {
    let page = parse(&fixture("hostile_urls.json"));
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["com.example/fine"]);
    let reasons: Vec<String> = page.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 9, "{reasons:#?}");
    let expect = [
        ("com.example/js\"", "https://"),
        ("js-website", "https://"),
        ("plain-http", "https://"),
        ("userinfo", "user name or password"),
        ("fragment", "'#'"),
        ("template", "values filled in"),
        ("com.example/data", "https://"),
        ("com.example/file", "https://"),
        ("second-bad", "https://"),
    ];
    for ((server, words), reason) in expect.iter().zip(&reasons) {
        assert!(
            reason.contains(server) && reason.contains(words),
            "{reason}"
        );
    }
    // The password in the address is not repeated in the log.
    assert!(
        !reasons.iter().any(|reason| reason.contains("secret@")),
        "{reasons:#?}"
    );
}

#[test]
fn control_bidi_and_invisible_text_and_bad_header_names_are_skipped() {
    let page = parse(&fixture("hostile_text.json"));
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["com.example/fine"]);
    assert_eq!(page.skipped.len(), 8, "{:#?}", page.skipped);
    let reasons: Vec<String> = page.skipped.iter().map(ToString::to_string).collect();
    assert!(
        reasons[0].contains("control or invisible"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("control or invisible"),
        "{}",
        reasons[1]
    );
    assert!(
        reasons[2].contains("control or invisible"),
        "{}",
        reasons[2]
    );
    assert!(reasons[3].contains("at most 100"), "{}", reasons[3]);
    assert!(reasons[4].contains("set by HTTP or MCP"), "{}", reasons[4]);
    assert!(reasons[5].contains("not a header name"), "{}", reasons[5]);
    assert!(reasons[6].contains("namespace/name"), "{}", reasons[6]);
    assert!(reasons[7].contains("empty"), "{}", reasons[7]);
    // Reasons are safe to log: no control or bidirectional characters.
    for reason in &reasons {
        assert!(
            !reason
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)),
            "{reason:?}"
        );
    }
}

#[test]
fn huge_strings_are_skipped_not_kept() {
    let mut long_description = server(1);
    long_description["server"]["description"] = json!("d".repeat(1024 * 1024));
    let mut long_name = server(2);
    long_name["server"]["name"] = json!(format!("com.example/{}", "n".repeat(10_000)));
    let mut long_url = server(3);
    long_url["server"]["remotes"][0]["url"] =
        json!(format!("https://s3.example.com/{}", "p".repeat(100_000)));
    let mut many_headers = server(4);
    many_headers["server"]["remotes"][0]["headers"] = json!((0..20)
        .map(|index| json!({ "name": format!("X-Key-{index}"), "isSecret": true }))
        .collect::<Vec<_>>());
    let page = parse(&page_of(
        vec![
            long_description,
            long_name,
            long_url,
            many_headers,
            server(5),
        ],
        None,
    ));
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(ids, ["com.example/server-5"]);
    assert_eq!(page.skipped.len(), 4);
    for skip in &page.skipped {
        let line = skip.to_string();
        assert!(
            line.len() < 400,
            "a skip reason stays short: {} bytes",
            line.len()
        );
    }
}

#[test]
fn ten_thousand_servers_are_read_only_up_to_the_page_cap() {
    let body = page_of((0..10_000).map(server).collect(), Some("next"));
    assert!(body.len() < MAX_PAGE_BYTES);
    let page = parse(&body);
    assert_eq!(page.listed, 10_000);
    assert!(page.truncated);
    assert_eq!(page.entries.len(), MAX_ENTRIES_PER_PAGE);
    assert_eq!(page.next_cursor.as_deref(), Some("next"));
}

#[test]
fn a_refresh_keeps_at_most_the_total_cap() {
    let mut collection = RegistryCollection::new();
    let mut pages = 0;
    let mut cursor = Some(String::new());
    while cursor.is_some() {
        let start = pages * MAX_ENTRIES_PER_PAGE;
        let servers = (start..start + MAX_ENTRIES_PER_PAGE).map(server).collect();
        cursor = collection.add(parse(&page_of(servers, Some(&format!("page-{pages}")))));
        pages += 1;
        assert!(pages <= 10, "the refresh did not stop");
    }
    assert_eq!(collection.entries().len(), MAX_TOTAL_ENTRIES);
    assert!(collection
        .stopped_early()
        .is_some_and(|why| why.contains("most registry servers")));
}

#[test]
fn a_registry_that_repeats_its_cursor_or_never_ends_is_stopped() {
    let mut collection = RegistryCollection::new();
    assert_eq!(
        collection
            .add(parse(&page_of(vec![server(1)], Some("same"))))
            .as_deref(),
        Some("same")
    );
    assert_eq!(
        collection.add(parse(&page_of(vec![server(2)], Some("same")))),
        None
    );
    assert!(collection
        .stopped_early()
        .is_some_and(|why| why.contains("before")));

    let mut collection = RegistryCollection::new();
    let mut asked = 0;
    for index in 0..MAX_PAGES + 10 {
        match collection.add(parse(&page_of(vec![], Some(&format!("cursor-{index}"))))) {
            Some(_) => asked += 1,
            None => break,
        }
    }
    assert_eq!(asked, MAX_PAGES - 1);
    assert!(collection
        .stopped_early()
        .is_some_and(|why| why.contains("more pages")));
}

fn registry_entry(id: &str, url: &str) -> Entry {
    Entry {
        id: id.to_owned(),
        name: "Looks fine".to_owned(),
        purpose: "Something.".to_owned(),
        remotes: vec![Remote {
            url: url.to_owned(),
            transport: Transport::StreamableHttp,
            for_sign_in: vec![],
        }],
        sign_in: vec![SignIn::Discover],
        docs: None,
        initials: "LF".to_owned(),
        color: "#334455".to_owned(),
        origin: Origin::Registry,
        registry_name: Some(id.to_owned()),
    }
}

#[test]
fn merging_never_lets_registry_data_replace_or_poison_the_shipped_catalog() {
    let shipped = Catalog::load_shipped().expect("shipped");
    let mut taken_name = registry_entry(
        "com.example/github-lookalike",
        "https://lookalike.example.com/mcp",
    );
    taken_name.registry_name = Some("io.github.github/github-mcp-server".to_owned());
    let entries = vec![
        // Built by hand, so never checked by the reader: merged() checks again.
        registry_entry("com.example/js", "javascript:alert(1)"),
        registry_entry("github", "https://other.example.com/mcp"),
        registry_entry("com.example/steal", "https://api.githubcopilot.com/mcp/"),
        taken_name,
        registry_entry("com.example/ok", "https://ok.example.com/mcp"),
        registry_entry("com.example/ok", "https://ok-again.example.com/mcp"),
        registry_entry("com.example/same-url", "https://ok.example.com/mcp"),
    ];
    let merged = Catalog::merged(&shipped, entries);
    assert_eq!(merged.len(), shipped.len() + 1);
    assert!(merged.get("com.example/ok").is_some());
    let github = merged.get("github").expect("github");
    assert_eq!(github.origin, Origin::Shipped);
    assert_eq!(
        merged
            .find_by_url("https://api.githubcopilot.com/mcp/")
            .map(|entry| entry.id.as_str()),
        Some("github")
    );
    for entry in merged.entries() {
        for remote in &entry.remotes {
            assert!(remote.url.starts_with("https://"), "{}", remote.url);
        }
    }
}

#[test]
fn the_shipped_catalog_is_unaffected_by_every_hostile_answer() {
    let before = Catalog::shipped().clone();
    for name in [
        "hostile_not_json.txt",
        "hostile_wrong_shape.json",
        "hostile_wrong_types.json",
        "hostile_urls.json",
        "hostile_text.json",
    ] {
        let entries = parse_registry_page(&fixture(name))
            .map(|page| page.entries)
            .unwrap_or_default();
        let merged = Catalog::merged(Catalog::shipped(), entries);
        for entry in before.entries() {
            assert_eq!(
                merged.get(&entry.id),
                Some(entry),
                "{name} changed {}",
                entry.id
            );
        }
    }
    assert_eq!(Catalog::shipped(), &before);
    assert!(before.len() >= 30);
}
