//! The engine's catalog against the real OS keychain and real SQLite files:
//! duplicate URLs, and names and ids validated and stored verbatim.

mod support;

use support::engine::{credential, new_engine};

#[test]
fn duplicate_urls_are_refused_per_vault_after_normalisation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let one = engine
        .catalog()
        .create_vault("One", "development", vec![])
        .expect("one");
    let two = engine
        .catalog()
        .create_vault("Two", "development", vec![])
        .expect("two");
    engine
        .catalog()
        .add_credential(&one.id, credential("https://dup.example.com/mcp", "tok-1"))
        .expect("first");
    let error = engine
        .catalog()
        .add_credential(
            &one.id,
            credential("HTTPS://DUP.example.com:443/mcp", "tok-2"),
        )
        .expect_err("duplicate");
    assert_eq!(error.code(), "duplicate_url");
    engine
        .catalog()
        .add_credential(&two.id, credential("https://dup.example.com/mcp", "tok-3"))
        .expect("another vault may hold the same URL");
    let error = engine
        .catalog()
        .create_vault(
            "Three",
            "development",
            vec![
                credential("https://x.example.com/mcp", "tok-4"),
                credential("https://x.example.com/mcp", "tok-5"),
            ],
        )
        .expect_err("duplicate inside the initial list");
    assert_eq!(error.code(), "duplicate_url");
    assert!(
        engine.catalog().vault("Three").is_err(),
        "a failed create leaves no half-made vault"
    );
}

#[test]
fn names_and_ids_are_validated_and_stored_verbatim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let sql = "Robert'); DROP TABLE vaults;--";
    let vault = engine
        .catalog()
        .create_vault(sql, "development", vec![])
        .expect("sql-looking name");
    assert_eq!(
        engine.catalog().vault(&vault.id).expect("get").display_name,
        sql
    );
    assert_eq!(engine.catalog().vault(sql).expect("by name").id, vault.id);
    assert_eq!(
        engine
            .catalog()
            .create_vault("", "development", vec![])
            .expect_err("empty")
            .code(),
        "invalid_input"
    );
    assert_eq!(
        engine
            .catalog()
            .create_vault(&"n".repeat(201), "development", vec![])
            .expect_err("long")
            .code(),
        "invalid_input"
    );
    assert_eq!(
        engine
            .catalog()
            .create_vault("x", "nowhere", vec![])
            .expect_err("env")
            .code(),
        "not_found"
    );
    assert_eq!(
        engine
            .catalog()
            .vault("vlt_missing")
            .expect_err("missing")
            .code(),
        "not_found"
    );
    engine
        .catalog()
        .create_vault("Twin", "development", vec![])
        .expect("twin 1");
    engine
        .catalog()
        .create_vault("Twin", "staging", vec![])
        .expect("twin 2");
    assert_eq!(
        engine
            .catalog()
            .vault("Twin")
            .expect_err("ambiguous")
            .code(),
        "ambiguous_name"
    );

    let renamed = engine
        .catalog()
        .rename_vault(&vault.id, "Renamed")
        .expect("rename");
    assert_eq!(renamed.display_name, "Renamed");
    engine
        .catalog()
        .create_environment("qa", "#123456")
        .expect("custom env");
    assert_eq!(
        engine
            .catalog()
            .create_environment("QA", "#123456")
            .expect_err("dup")
            .code(),
        "duplicate_environment"
    );
    engine
        .catalog()
        .set_active_environment("qa")
        .expect("activate");
    assert_eq!(engine.catalog().active_environment().expect("active"), "qa");
    let deleted = engine.catalog().delete_vault(&vault.id).expect("delete");
    assert_eq!(deleted.id, vault.id);
    assert_eq!(
        engine.catalog().vault(&vault.id).expect_err("gone").code(),
        "not_found"
    );
}

#[test]
fn vaults_are_found_by_part_of_a_name_or_a_server_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    engine
        .catalog()
        .create_vault(
            "GitHub tools",
            "development",
            vec![credential("https://api.githubcopilot.com/mcp/", "tok-1")],
        )
        .expect("github");
    engine
        .catalog()
        .create_vault(
            "Docs",
            "production",
            vec![credential("https://mcp.notion.com/mcp", "tok-2")],
        )
        .expect("notion");
    engine
        .catalog()
        .create_vault("100%_sure", "development", vec![])
        .expect("odd name");
    let names = |found: Vec<keybearer_vault::Vault>| -> Vec<String> {
        found.into_iter().map(|vault| vault.display_name).collect()
    };
    assert_eq!(
        names(engine.catalog().search_vaults("github").expect("by name")),
        ["GitHub tools"],
        "letters in any case, the server address matches too but the vault is listed once"
    );
    assert_eq!(
        names(
            engine
                .catalog()
                .search_vaults(" NOTION.com ")
                .expect("by server")
        ),
        ["Docs"]
    );
    assert_eq!(
        names(engine.catalog().search_vaults("%_").expect("wildcards")),
        ["100%_sure"],
        "% and _ match only themselves"
    );
    assert!(engine
        .catalog()
        .search_vaults("zzz")
        .expect("nothing")
        .is_empty());
    assert_eq!(
        engine.catalog().search_vaults("").expect("all").len(),
        3,
        "an empty search lists every vault"
    );
}
