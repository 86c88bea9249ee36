//! App connections in the engine: one environment per connection, one
//! connection per app, and a bridge's read path (`Tokens::lookup_for_connection`)
//! that follows every change at its next lookup — made by this engine or by
//! another process's — on the real keychain and real SQLite files.

mod support;

use keybearer_vault::{Engine, ErrorCode};
use support::engine::{credential, new_engine};

const URL: &str = "https://mcp.example.com/mcp";

fn token_for(
    tokens: &keybearer_vault::Tokens,
    connection: &str,
) -> Result<Option<String>, ErrorCode> {
    tokens
        .lookup_for_connection(connection, URL)
        .map(|found| found.map(|i| i.token.expose_for_injection().to_string()))
        .map_err(|error| error.code())
}

#[test]
fn a_bridge_follows_its_connection_at_the_next_lookup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let first = engine
        .catalog()
        .create_vault("First", "development", vec![credential(URL, "tok-first")])
        .expect("vault");
    let second = engine
        .catalog()
        .create_vault("Second", "development", vec![credential(URL, "tok-second")])
        .expect("vault");
    let staging = engine
        .catalog()
        .create_vault("Staged", "staging", vec![credential(URL, "tok-staging")])
        .expect("vault");

    let connection = engine
        .connections()
        .create(
            "cursor",
            &["First".into(), "Second".into()],
            "/tmp/mcp.json",
        )
        .expect("connect");
    assert_eq!(connection.environment, "development");
    assert_eq!(
        connection.vault_ids,
        vec![first.id.clone(), second.id.clone()]
    );

    let tokens = engine.tokens().expect("tokens");
    assert_eq!(
        token_for(&tokens, &connection.id),
        Ok(Some("tok-first".into()))
    );
    // Cached now; a second look is the same answer.
    assert_eq!(
        token_for(&tokens, &connection.id),
        Ok(Some("tok-first".into()))
    );

    // Another process reorders the vaults: the next lookup sees it.
    let mut other = Engine::open(dir.path()).expect("second engine");
    other
        .connections()
        .change(&connection.id, &[second.id.clone(), first.id.clone()])
        .expect("reorder");
    assert_eq!(
        token_for(&tokens, &connection.id),
        Ok(Some("tok-second".into()))
    );

    // Switched to another environment.
    let moved = engine
        .connections()
        .change(&connection.id, std::slice::from_ref(&staging.id))
        .expect("switch");
    assert_eq!(moved.environment, "staging");
    assert_eq!(
        token_for(&tokens, &connection.id),
        Ok(Some("tok-staging".into()))
    );

    // The vault is deleted: it leaves the connection, which now has none.
    engine
        .catalog()
        .delete_vault(&staging.id)
        .expect("delete vault");
    let left = engine
        .connections()
        .get(&connection.id)
        .expect("still there");
    assert!(left.vault_ids.is_empty());
    assert_eq!(token_for(&tokens, &connection.id), Ok(None));

    // Disconnected by another process: the bridge is refused from then on.
    other
        .connections()
        .remove(&connection.id)
        .expect("disconnect");
    assert_eq!(token_for(&tokens, &connection.id), Err(ErrorCode::NotFound));
    assert_eq!(token_for(&tokens, "con_never"), Err(ErrorCode::NotFound));

    let kinds: Vec<String> = engine
        .audit()
        .events(None, 50)
        .expect("events")
        .into_iter()
        .filter(|e| e.connection_id.as_deref() == Some(connection.id.as_str()))
        .map(|e| e.kind.to_string())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "app.disconnected",
            "app.connection_changed",
            "app.connection_changed",
            "app.connected"
        ]
    );
}

#[test]
fn a_connection_has_one_environment_and_an_app_has_one_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    engine
        .catalog()
        .create_vault("Dev", "development", vec![])
        .expect("vault");
    engine
        .catalog()
        .create_vault("Prod", "production", vec![])
        .expect("vault");
    let mixed = engine
        .connections()
        .create("zed", &["Dev".into(), "Prod".into()], "/tmp/zed.json")
        .expect_err("two environments");
    assert_eq!(mixed.code(), ErrorCode::MixedEnvironments);
    let empty = engine
        .connections()
        .create("zed", &[], "/tmp/zed.json")
        .expect_err("no vault");
    assert_eq!(empty.code(), ErrorCode::InvalidInput);
    let twice = engine
        .connections()
        .create("zed", &["Dev".into(), "Dev".into()], "/tmp/zed.json")
        .expect_err("listed twice");
    assert_eq!(twice.code(), ErrorCode::InvalidInput);
    engine
        .connections()
        .create("zed", &["Dev".into()], "/tmp/zed.json")
        .expect("connect");
    let again = engine
        .connections()
        .create("zed", &["Prod".into()], "/tmp/zed.json")
        .expect_err("second connection");
    assert_eq!(again.code(), ErrorCode::InvalidInput);
    assert_eq!(engine.connections().list().expect("list").len(), 1);
}
