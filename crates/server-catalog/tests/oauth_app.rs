//! A registry server whose publisher declares an OAuth app the user makes
//! (`dev.keybearer/oauth-app` in server.json's publisher-provided `_meta`):
//! it becomes an `oauth_client` sign-in with its pinned endpoints, the cache
//! keeps it (and nothing else of that `_meta`), and a declaration that would
//! send the user's app secret elsewhere skips the server.

use keybearer_server_catalog::{parse_registry_page, Page, RegistryCollection, SignIn, Snapshot};
use serde_json::{json, Value};

const SERVER: &str = "https://mcp.example.com/mcp";

fn server(app: Value) -> Value {
    json!({
        "server": {
            "name": "com.example/app-only",
            "title": "App Only",
            "description": "Signs in with an OAuth app you make.",
            "version": "1.0.0",
            "remotes": [{ "type": "streamable-http", "url": SERVER }],
            "_meta": { "io.modelcontextprotocol.registry/publisher-provided": {
                "dev.keybearer/oauth-app": app,
                "com.example/other": { "tracking": "not kept" }
            } }
        }
    })
}

fn app(authorize: &str, token: &str) -> Value {
    json!({
        "clientPage": "https://example.com/settings/apps/new",
        "clientSecret": true,
        "scopes": ["read", "write"],
        "authorizeUrl": authorize,
        "tokenUrl": token
    })
}

fn parsed(servers: Vec<Value>) -> Page {
    let bytes = serde_json::to_vec(&json!({ "servers": servers, "metadata": {} })).expect("json");
    parse_registry_page(&bytes).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn a_declared_oauth_app_is_an_oauth_client_sign_in_with_pinned_endpoints() {
    let page = parsed(vec![server(app(
        "https://mcp.example.com/oauth/authorize",
        "https://mcp.example.com/oauth/token",
    ))]);
    assert!(page.skipped.is_empty(), "{:?}", page.skipped);
    let entry = &page.entries[0];
    assert_eq!(
        entry.sign_in,
        [SignIn::OauthClient {
            client_page: "https://example.com/settings/apps/new".into(),
            client_secret: true,
            scopes: vec!["read".into(), "write".into()],
            authorize_url: Some("https://mcp.example.com/oauth/authorize".into()),
            token_url: Some("https://mcp.example.com/oauth/token".into()),
        }]
    );

    // The cache keeps the app, and only the app, and reads it back the same.
    let mut collection = RegistryCollection::new();
    collection.add(page.clone());
    let snapshot = Snapshot::from_collection(&collection);
    let stored = serde_json::to_value(&snapshot).expect("json");
    let text = stored.to_string();
    assert!(text.contains("dev.keybearer/oauth-app"), "{text}");
    assert!(!text.contains("tracking"), "{text}");
    let Value::Array(servers) = stored else {
        panic!("not an array")
    };
    let loaded = Snapshot::read(servers);
    assert_eq!(loaded.entries, page.entries);
}

#[test]
fn an_app_that_would_send_the_secret_elsewhere_skips_the_server() {
    let own = "https://mcp.example.com/oauth/token";
    for (declared, expected) in [
        (
            app("https://evil.example/authorize", own),
            "not on the server's own address",
        ),
        (
            app(
                "https://mcp.example.com/authorize",
                "https://mcp.example.com:8443/token",
            ),
            "not on the server's own address",
        ),
        (
            app("http://mcp.example.com/authorize", own),
            "must start with https://",
        ),
        (
            json!({ "clientPage": "javascript:alert(1)" }),
            "must start with https://",
        ),
        (
            json!({ "clientPage": "https://example.com/apps", "authorizeUrl": "https://mcp.example.com/a" }),
            "only one of",
        ),
        (
            json!({ "clientPage": "https://example.com/apps", "clientSecret": "yes" }),
            "wrong type",
        ),
    ] {
        let page = parsed(vec![server(declared.clone())]);
        assert!(page.entries.is_empty(), "{declared}: {:?}", page.entries);
        let reason = &page.skipped[0].reason;
        assert!(reason.contains(expected), "{declared}: {reason}");
    }
}

/// An entry that lists another service's address beside its own cannot pin
/// endpoints on its own origin for that other address: with remotes on two
/// origins, a declared OAuth app skips the server.
#[test]
fn an_app_declared_beside_another_services_address_skips_the_server() {
    let mut declared = server(app(
        "https://mcp.example.com/oauth/authorize",
        "https://mcp.example.com/oauth/token",
    ));
    declared["server"]["remotes"] = json!([
        { "type": "streamable-http", "url": "https://victim.example.org/mcp" },
        { "type": "streamable-http", "url": SERVER }
    ]);
    let page = parsed(vec![declared]);
    assert!(page.entries.is_empty(), "{:?}", page.entries);
    assert!(
        page.skipped
            .iter()
            .any(|s| format!("{s:?}").contains("not on the server's own address")),
        "{:?}",
        page.skipped
    );
}
