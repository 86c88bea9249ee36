//! Deleted ciphertext does not linger in the WAL. Add, replace and delete
//! while another connection stays open (as the desktop app's does, and the
//! proxy's readers): afterwards neither the database nor its `-wal` file
//! holds the sealed bytes of any token that was replaced or deleted.

mod support;

use rusqlite::Connection;
use support::engine::{credential, new_engine};
use support::token;

fn sealed(conn: &Connection, id: &str) -> Vec<u8> {
    conn.query_row(
        "SELECT sealed_token FROM credentials WHERE id = ?1",
        [id],
        |row| row.get(0),
    )
    .expect("sealed token")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn replaced_and_deleted_ciphertext_is_gone_from_database_and_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let database = engine.database_path();
    let wal = database.with_extension("db-wal");
    // A connection that stays open throughout, like the app's.
    let watcher = Connection::open(&database).expect("open");

    let vault = engine
        .catalog()
        .create_vault("Rotate", "development", vec![])
        .expect("vault");
    let first = engine
        .catalog()
        .add_credential(
            &vault.id,
            credential("https://wal.example.com/mcp", "tok-wal-1"),
        )
        .expect("add");
    let other = engine
        .catalog()
        .add_credential(
            &vault.id,
            credential("https://other.example.com/mcp", "tok-wal-2"),
        )
        .expect("add");
    let first_sealed = sealed(&watcher, &first.id);
    let other_sealed = sealed(&watcher, &other.id);

    let replaced = engine
        .catalog()
        .replace_token(&first.id, token("tok-wal-3"))
        .expect("replace");
    let replaced_sealed = sealed(&watcher, &replaced.id);
    engine
        .catalog()
        .delete_credential(&replaced.id)
        .expect("delete");
    // Positive control: a live token's ciphertext is found where it lives.
    let files = || {
        let mut bytes = std::fs::read(&database).expect("db");
        if let Ok(wal) = std::fs::read(&wal) {
            bytes.extend_from_slice(&wal);
        }
        bytes
    };
    assert!(
        contains(&files(), &other_sealed),
        "the scan finds live ciphertext"
    );
    for (what, gone) in [("replaced", &first_sealed), ("deleted", &replaced_sealed)] {
        assert!(
            !contains(&files(), gone),
            "the {what} token's ciphertext lingers"
        );
    }

    engine
        .catalog()
        .delete_vault(&vault.id)
        .expect("delete vault");
    assert!(
        !contains(&files(), &other_sealed),
        "a deleted vault's ciphertext lingers"
    );
    drop(watcher);
}
