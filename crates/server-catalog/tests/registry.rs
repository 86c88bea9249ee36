//! Reading MCP Registry pages built from real `server.json` files
//! (tests/fixtures/README.md says where each came from), gathering them, and
//! merging them under the shipped catalog.

use keybearer_server_catalog::{
    parse_registry_page, Catalog, HeaderField, Origin, Page, RegistryCollection, SignIn,
    SignInKind, Transport,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn page(name: &str) -> Page {
    match parse_registry_page(&fixture(name)) {
        Ok(page) => page,
        Err(error) => panic!("{name}: {error}"),
    }
}

fn shipped() -> Catalog {
    match Catalog::load_shipped() {
        Ok(catalog) => catalog,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn a_real_page_becomes_entries_and_a_cursor() {
    let page = page("registry_page_1.json");
    assert_eq!(page.listed, 7);
    assert!(!page.truncated);
    assert_eq!(
        page.next_cursor.as_deref(),
        Some("io.github.upstash/context7:2.0.0")
    );
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "io.github.github/github-mcp-server",
            "com.atlassian/atlassian-mcp-server",
            "com.neon/mcp",
            "com.monday/monday.com",
            "io.github.upstash/context7",
            "com.supabase/mcp",
        ]
    );
    // The package-only server is skipped, with a reason.
    assert_eq!(page.skipped.len(), 1);
    assert!(page.skipped[0].server.contains("airtable"));
    assert!(
        page.skipped[0].reason.contains("no remote address"),
        "{}",
        page.skipped[0]
    );
    for entry in &page.entries {
        assert_eq!(entry.origin, Origin::Registry);
        assert_eq!(
            entry.registry_name.as_deref().map(str::to_ascii_lowercase),
            Some(entry.id.clone())
        );
    }
}

#[test]
fn secret_headers_become_a_header_sign_in_and_the_rest_is_discovered() {
    let page = page("registry_page_1.json");
    let github = &page.entries[0];
    assert_eq!(github.name, "GitHub");
    assert_eq!(github.remotes.len(), 1);
    assert_eq!(github.remotes[0].url, "https://api.githubcopilot.com/mcp/");
    assert_eq!(
        github.docs.as_deref(),
        Some("https://github.com/github/github-mcp-server")
    );
    // An optional secret header: ask the server first, the header as the fallback.
    assert_eq!(
        github.sign_in,
        [
            SignIn::Discover,
            SignIn::Header {
                headers: vec![HeaderField {
                    name: "Authorization".to_owned(),
                    description: Some(
                        "Authorization header with authentication token (PAT or App token)"
                            .to_owned()
                    ),
                    required: false,
                }]
            }
        ]
    );
    // Atlassian declares no header: the sign-in is found at run time.
    let atlassian = &page.entries[1];
    assert_eq!(atlassian.sign_in, [SignIn::Discover]);
    assert_eq!(atlassian.remotes.len(), 2);
    // Neon: only the secret header counts, not the plain x-read-only switch.
    let neon = &page.entries[2];
    match &neon.sign_in[..] {
        [SignIn::Discover, SignIn::Header { headers }] => {
            let names: Vec<&str> = headers.iter().map(|header| header.name.as_str()).collect();
            assert_eq!(names, ["Authorization"]);
        }
        other => panic!("neon signs in with {other:?}"),
    }
    assert_eq!(
        neon.docs.as_deref(),
        Some("https://neon.com/docs/ai/neon-mcp-server")
    );
    // monday.com lists Streamable HTTP first and SSE second.
    let monday = &page.entries[3];
    // Its 207-character description is cut to the catalog's 200, at a word.
    assert!(monday.purpose.chars().count() <= 200, "{}", monday.purpose);
    assert!(monday
        .purpose
        .starts_with("Connect AI agents to monday.com"));
    assert!(
        monday.purpose.ends_with('…') || monday.purpose.ends_with('.'),
        "{}",
        monday.purpose
    );
    let transports: Vec<Transport> = monday
        .remotes
        .iter()
        .map(|remote| remote.transport)
        .collect();
    assert_eq!(transports, [Transport::StreamableHttp, Transport::Sse]);
}

#[test]
fn the_last_page_has_no_cursor_and_limits_are_kept() {
    let page = page("registry_page_2.json");
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.listed, 6);
    let ids: Vec<&str> = page.entries.iter().map(|entry| entry.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "com.stripe/mcp",
            "com.webflow/mcp",
            "io.github.exa-labs/exa-mcp-server",
            "com.figma.mcp/mcp",
            "com.apify/apify-mcp-server",
        ]
    );
    // A server without a title is named after its publisher, not "mcp".
    assert_eq!(page.entries[0].name, "stripe");
    assert_eq!(page.entries[0].remotes[0].url, "https://mcp.stripe.com/");
    assert_eq!(page.entries[3].name, "Figma MCP Server");
    // Exa's registry entry says "sse"; the registry's word is taken as it is.
    assert_eq!(page.entries[2].remotes[0].transport, Transport::Sse);
    // A required secret header: the header is the only way.
    assert!(
        matches!(&page.entries[4].sign_in[..], [SignIn::Header { headers }] if headers[0].required)
    );
    // Cloudflare lists 13 addresses, more than the 8 an entry may have.
    assert_eq!(page.skipped.len(), 1, "{:?}", page.skipped);
    assert!(page.skipped[0].server.contains("com.cloudflare.mcp/mcp"));
    assert!(
        page.skipped[0].reason.contains("13 addresses"),
        "{}",
        page.skipped[0]
    );
}

#[test]
fn pages_are_gathered_until_the_last_one() {
    let mut collection = RegistryCollection::new();
    let next = collection.add(page("registry_page_1.json"));
    assert_eq!(next.as_deref(), Some("io.github.upstash/context7:2.0.0"));
    assert_eq!(collection.add(page("registry_page_2.json")), None);
    assert_eq!(collection.stopped_early(), None);
    assert_eq!(collection.entries().len(), 11);
    assert_eq!(collection.skipped().len(), 2);
    // The same page again adds nothing: repeats are dropped.
    collection.add(page("registry_page_2.json"));
    assert_eq!(collection.entries().len(), 11);
}

#[test]
fn updates_report_removed_servers_and_keep_only_the_latest_version() {
    let page = page("registry_sync_updates.json");
    assert_eq!(page.removed, ["com.example/gone"]);
    assert_eq!(page.entries.len(), 1);
    assert_eq!(
        page.entries[0].remotes[0].url,
        "https://tasks.example.com/v2/mcp"
    );
    let reasons: Vec<String> = page.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("older version"), "{reasons:?}");
    assert!(reasons[1].contains("deprecated"), "{reasons:?}");
}

#[test]
fn shipped_entries_win_and_registry_only_entries_are_added() {
    let shipped = shipped();
    let mut collection = RegistryCollection::new();
    collection.add(page("registry_page_1.json"));
    collection.add(page("registry_page_2.json"));
    collection.add(page("registry_sync_updates.json"));
    let merged = Catalog::merged(&shipped, collection.into_entries());

    // Every real server on those pages is already shipped (same address or
    // registry name), so the shipped knowledge stays: GitHub keeps its OAuth
    // app and token pages instead of the registry's bare header.
    assert_eq!(merged.len(), shipped.len() + 1);
    let github = merged
        .find_by_url("https://api.githubcopilot.com/mcp/")
        .expect("github");
    assert_eq!(github.id, "github");
    assert_eq!(github.origin, Origin::Shipped);
    assert!(github.signs_in_with(SignInKind::OauthClient));
    assert!(merged
        .get("io.github.github/github-mcp-server")
        .is_some_and(|entry| entry.id == "github"));
    assert_eq!(
        merged
            .find_by_url("https://mcp.stripe.com")
            .map(|entry| entry.origin),
        Some(Origin::Shipped)
    );
    // Exa's registry address is the shipped token address: shipped wins.
    assert_eq!(
        merged
            .find_by_url("https://mcp.exa.ai/mcp")
            .map(|entry| entry.id.as_str()),
        Some("exa")
    );

    // The registry-only server is added and can be found.
    let tasks = merged.get("com.example/tasks").expect("added");
    assert_eq!(tasks.origin, Origin::Registry);
    assert_eq!(
        merged
            .search("team's tasks")
            .first()
            .map(|entry| entry.id.as_str()),
        Some("com.example/tasks")
    );
    // Still sorted by name.
    let names: Vec<String> = merged
        .entries()
        .iter()
        .map(|entry| entry.name.to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // The shipped catalog itself is untouched.
    assert_eq!(Catalog::shipped(), &shipped);
}
