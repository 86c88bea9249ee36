//! The engine against the real OS keychain (a Secret Service started by
//! `scripts/with-secret-service.sh`) and real SQLite files.

use std::path::Path;
use std::sync::Arc;

use vault_core::{
    AccessToken, CredentialUse, Engine, Error, KeyProtection, NewCredential, OsKeychain, Protocol,
    SetupProtection, Timestamp, UserSecret,
};

fn require_secret_service() {
    assert_eq!(
        std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}

fn token(value: &str) -> AccessToken {
    AccessToken::new(value.to_string()).expect("valid token")
}

fn credential(url: &str, value: &str) -> NewCredential {
    NewCredential {
        mcp_server_url: url.to_string(),
        protocol: None,
        access_token: token(value),
    }
}

fn new_engine(dir: &Path) -> (Engine, String) {
    require_secret_service();
    let mut engine = Engine::open(dir).expect("open");
    let recovery = engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    (engine, recovery.reveal_once().to_string())
}

/// What the proxy would inject: the token the tokens part opens for these
/// vaults and this URL (a fresh read path each time, as a new session gets).
fn injected(engine: &mut Engine, vaults: &[String], url: &str) -> Option<String> {
    engine
        .tokens()
        .expect("tokens")
        .lookup(vaults, url)
        .expect("resolve")
        .map(|injection| injection.token.expose_for_injection().to_string())
}

fn wipe_keychain_entry(account: &str) {
    keyring::Entry::new(OsKeychain::service(), account)
        .expect("entry")
        .delete_credential()
        .expect("delete from the keychain");
}

#[test]
fn tokens_survive_a_restart_and_open_only_with_the_keychain_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let vault = engine
        .catalog()
        .create_vault(
            "GitHub",
            "production",
            vec![credential("https://api.example.com/mcp", "tok-restart-1")],
        )
        .expect("vault");
    drop(engine);

    let mut reopened = Engine::open(dir.path()).expect("reopen");
    assert!(!reopened.keys().is_unlocked());
    reopened.keys().unlock().expect("unlock from keychain");
    assert_eq!(
        injected(
            &mut reopened,
            std::slice::from_ref(&vault.id),
            "HTTPS://API.example.com:443/mcp"
        )
        .as_deref(),
        Some("tok-restart-1")
    );
    assert_eq!(
        reopened.keys().protection().expect("protection"),
        Some(KeyProtection::Keychain)
    );
}

#[test]
fn first_vault_in_session_order_wins_and_environments_never_mix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let url = "https://shared.example.com/mcp";
    let a = engine
        .catalog()
        .create_vault("A", "staging", vec![credential(url, "tok-a")])
        .expect("a");
    let b = engine
        .catalog()
        .create_vault("B", "staging", vec![credential(url, "tok-b")])
        .expect("b");
    let empty = engine
        .catalog()
        .create_vault("Empty", "staging", vec![])
        .expect("empty");
    let prod = engine
        .catalog()
        .create_vault("P", "production", vec![credential(url, "tok-p")])
        .expect("p");

    let order_ab = [a.id.clone(), b.id.clone()];
    let order_ba = [empty.id.clone(), b.id.clone(), a.id.clone()];
    let resolution = engine
        .resolver()
        .resolve(&order_ab, url)
        .expect("resolve")
        .expect("found");
    assert_eq!(resolution.credential.vault_id, a.id);
    assert_eq!(resolution.vault_position, 0);
    assert_eq!(resolution.shadowed_credential_ids.len(), 1);
    assert_eq!(
        injected(&mut engine, &order_ab, url).as_deref(),
        Some("tok-a")
    );
    assert_eq!(
        injected(&mut engine, &order_ba, url).as_deref(),
        Some("tok-b")
    );
    let resolution = engine
        .resolver()
        .resolve(&order_ba, url)
        .expect("resolve")
        .expect("found");
    assert_eq!(resolution.vault_position, 1);
    assert!(engine
        .resolver()
        .resolve(&order_ab, "https://other.example.com/mcp")
        .expect("resolve")
        .is_none());

    let mixed = [a.id.clone(), prod.id.clone()];
    let error = engine
        .resolver()
        .resolve(&mixed, url)
        .expect_err("mixed environments");
    assert_eq!(error.code(), "mixed_environments");
    assert!(error.to_string().contains("production"));
    assert!(engine
        .tokens()
        .expect("tokens")
        .lookup(&mixed, url)
        .is_err());
    assert_eq!(
        engine.resolver().environment_of(&[prod.id]).expect("env"),
        "production"
    );
}

#[test]
fn rotation_and_deletion_take_effect_immediately() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let url = "https://rotate.example.com/sse";
    let vault = engine
        .catalog()
        .create_vault("Rotating", "development", vec![credential(url, "tok-old")])
        .expect("vault");
    let ids = [vault.id.clone()];
    let old = engine
        .catalog()
        .credentials(&vault.id)
        .expect("list")
        .remove(0);
    assert_eq!(old.protocol, Protocol::Sse, "guessed from the /sse path");

    let new = engine
        .catalog()
        .replace_token(&old.id, token("tok-new"))
        .expect("replace");
    assert_ne!(new.id, old.id);
    assert_eq!(new.protocol, Protocol::Sse);
    assert_eq!(injected(&mut engine, &ids, url).as_deref(), Some("tok-new"));
    assert_eq!(
        engine
            .catalog()
            .credential(&old.id)
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert_eq!(
        engine.catalog().credentials(&vault.id).expect("list").len(),
        1
    );

    engine
        .audit()
        .record_use(&CredentialUse {
            credential_id: new.id.clone(),
            vault_id: vault.id.clone(),
            upstream_url: new.mcp_server_url.clone(),
            session_id: Some("sesn_test".into()),
            method: Some("POST".into()),
            status: Some(200),
            detail: None,
            at: Timestamp::now(),
        })
        .expect("record use");
    let used = engine.catalog().credential(&new.id).expect("credential");
    assert!(used.last_used_at.is_some());
    assert_eq!(
        engine
            .catalog()
            .vault(&vault.id)
            .expect("vault")
            .last_used_at,
        used.last_used_at
    );
    let use_event = engine
        .audit()
        .events(Some(&vault.id), 1)
        .expect("events")
        .remove(0);
    assert_eq!(use_event.kind, "credential.used");
    assert_eq!(use_event.session_id.as_deref(), Some("sesn_test"));
    assert_eq!(use_event.status, Some(200));

    engine.catalog().delete_credential(&new.id).expect("delete");
    assert_eq!(injected(&mut engine, &ids, url), None);
    assert_eq!(
        engine
            .catalog()
            .delete_credential(&new.id)
            .expect_err("twice")
            .code(),
        "not_found"
    );

    let kinds: Vec<String> = engine
        .audit()
        .events(Some(&vault.id), 50)
        .expect("events")
        .into_iter()
        .map(|event| event.kind.to_string())
        .collect();
    for kind in [
        "vault.created",
        "credential.created",
        "credential.replaced",
        "credential.deleted",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

/// The proxy's per-request lookup: served from memory while nothing changes,
/// fresh after any change by this engine or by another connection, and not
/// disturbed by the proxy's own audit writes (made, as the proxy makes them,
/// through a usage recorder on its own connection).
#[test]
fn cached_tokens_follow_every_change_but_not_audit_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let url = "https://cache.example.com/mcp";
    let vault = engine
        .catalog()
        .create_vault("Cache", "development", vec![credential(url, "tok-1")])
        .expect("vault");
    let ids = [vault.id.clone()];
    let tokens = engine.tokens().expect("tokens");
    let open = || {
        tokens
            .lookup(&ids, url)
            .expect("lookup")
            .map(|found| (found.token.expose_for_injection().to_string(), found))
    };

    let (first, first_entry) = open().expect("found");
    assert_eq!(first, "tok-1");
    let (_, again) = open().expect("found");
    assert!(Arc::ptr_eq(&first_entry, &again), "served from the cache");

    let mut recorder = engine.usage_recorder().expect("recorder");
    recorder
        .record(&[CredentialUse {
            credential_id: first_entry.resolution.credential.id.clone(),
            vault_id: vault.id.clone(),
            upstream_url: url.to_string(),
            session_id: Some("sesn_cache".into()),
            method: Some("POST".into()),
            status: Some(200),
            detail: None,
            at: Timestamp::now(),
        }])
        .expect("audit");
    let (_, after_audit) = open().expect("found");
    assert!(
        Arc::ptr_eq(&first_entry, &after_audit),
        "audit writes keep the cache"
    );
    let used = engine
        .audit()
        .events(Some(&vault.id), 1)
        .expect("events")
        .remove(0);
    assert_eq!(used.kind, "credential.used");
    assert_eq!(used.session_id.as_deref(), Some("sesn_cache"));

    // Another connection (as the CLI would) replaces the token.
    let mut other = Engine::open(dir.path()).expect("second engine");
    other.keys().unlock().expect("unlock");
    let replaced = other
        .catalog()
        .replace_token(&first_entry.resolution.credential.id, token("tok-2"))
        .expect("replace");
    assert_eq!(open().expect("found").0, "tok-2");

    // This engine deletes it: the next lookup finds nothing.
    engine
        .catalog()
        .delete_credential(&replaced.id)
        .expect("delete");
    assert!(open().is_none());
    assert!(open().is_none(), "the empty answer is cached too");

    // The other connection adds it back.
    other
        .catalog()
        .add_credential(&vault.id, credential(url, "tok-3"))
        .expect("add");
    assert_eq!(open().expect("found").0, "tok-3");

    // A new read path (a new session) starts from the database.
    drop(tokens);
    assert_eq!(injected(&mut engine, &ids, url).as_deref(), Some("tok-3"));
}

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
fn wiped_keychain_leads_to_recovery_never_to_a_new_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, recovery) = new_engine(dir.path());
    let vault = engine
        .catalog()
        .create_vault(
            "Kept",
            "production",
            vec![credential("https://k.example.com/mcp", "tok-kept")],
        )
        .expect("vault");
    let account = engine.keys().keychain_account();
    drop(engine);
    wipe_keychain_entry(&account);

    let mut engine = Engine::open(dir.path()).expect("open");
    assert_eq!(
        engine.keys().unlock().expect_err("no key").code(),
        "recovery_needed"
    );
    let status = engine.status().expect("status");
    assert!(status.recovery_needed);
    assert_eq!(status.credentials, 1);
    assert_eq!(
        engine
            .keys()
            .initialize(SetupProtection::Keychain)
            .expect_err("must not re-key")
            .code(),
        "already_initialized"
    );

    let wrong = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH".to_string();
    let error = engine
        .keys()
        .recover(&UserSecret::new(wrong), SetupProtection::Keychain)
        .expect_err("wrong key");
    assert_eq!(error.code(), "wrong_recovery_key");
    assert_eq!(
        engine.keys().unlock().expect_err("still locked").code(),
        "recovery_needed"
    );

    let typed = recovery.to_lowercase().replace('-', " ");
    engine
        .keys()
        .recover(&UserSecret::new(typed), SetupProtection::Keychain)
        .expect("recover");
    drop(engine);
    let mut engine = Engine::open(dir.path()).expect("open again");
    engine
        .keys()
        .unlock()
        .expect("keychain holds the key again");
    assert_eq!(
        injected(&mut engine, &[vault.id], "https://k.example.com/mcp").as_deref(),
        Some("tok-kept")
    );
}

#[test]
fn a_different_key_in_the_keychain_is_not_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let account = engine.keys().keychain_account();
    drop(engine);
    keyring::Entry::new(OsKeychain::service(), &account)
        .expect("entry")
        .set_secret(&[9u8; 32])
        .expect("overwrite");
    let mut engine = Engine::open(dir.path()).expect("open");
    assert_eq!(
        engine.keys().unlock().expect_err("wrong key").code(),
        "recovery_needed"
    );
}

#[test]
fn tampered_or_moved_ciphertext_is_an_integrity_error_naming_the_credential() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = new_engine(dir.path());
    let vault = engine
        .catalog()
        .create_vault(
            "Tamper",
            "development",
            vec![
                credential("https://one.example.com/mcp", "tok-one"),
                credential("https://two.example.com/mcp", "tok-two"),
            ],
        )
        .expect("vault");
    let creds = engine.catalog().credentials(&vault.id).expect("list");
    let db = engine.database_path();
    drop(engine);

    let conn = rusqlite::Connection::open(&db).expect("raw db");
    // Flip one byte of the first ciphertext; copy the first envelope over the second.
    let mut sealed: Vec<u8> = conn
        .query_row(
            "SELECT sealed_token FROM credentials WHERE id = ?1",
            [&creds[0].id],
            |row| row.get(0),
        )
        .expect("read ciphertext");
    sealed[20] ^= 0x01;
    conn.execute(
        "UPDATE credentials SET sealed_token = ?1 WHERE id = ?2",
        rusqlite::params![sealed, creds[0].id],
    )
    .expect("tamper");
    let mut engine = Engine::open(dir.path()).expect("open");
    let checks = engine
        .catalog()
        .check_credentials(None)
        .expect("check runs");
    assert!(!checks[0].ok);
    assert!(checks[1].ok);
    let error = engine
        .tokens()
        .expect("tokens")
        .lookup(
            std::slice::from_ref(&vault.id),
            "https://one.example.com/mcp",
        )
        .expect_err("tampered");
    assert_eq!(error.code(), "integrity");
    assert!(error.to_string().contains(&creds[0].id));

    conn.execute(
        "UPDATE credentials SET sealed_token = (SELECT sealed_token FROM credentials WHERE id = ?1) WHERE id = ?2",
        [&creds[0].id, &creds[1].id],
    )
    .expect("move");
    let error = engine
        .tokens()
        .expect("tokens")
        .lookup(
            std::slice::from_ref(&vault.id),
            "https://two.example.com/mcp",
        )
        .expect_err("moved ciphertext");
    assert!(
        matches!(error, Error::Integrity { ref credential_id } if *credential_id == creds[1].id)
    );

    // Replacing the token repairs the credential.
    engine
        .catalog()
        .replace_token(&creds[1].id, token("tok-two-again"))
        .expect("repair");
    assert_eq!(
        injected(&mut engine, &[vault.id], "https://two.example.com/mcp").as_deref(),
        Some("tok-two-again")
    );
}

#[test]
fn passphrase_protection_for_machines_without_a_keychain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::open(dir.path()).expect("open");
    let short = engine
        .keys()
        .initialize(SetupProtection::Passphrase(UserSecret::new("short".into())))
        .expect_err("too short");
    assert_eq!(short.code(), "invalid_input");
    let recovery = engine
        .keys()
        .initialize(SetupProtection::Passphrase(UserSecret::new(
            "correct horse battery".into(),
        )))
        .expect("init with passphrase")
        .reveal_once()
        .to_string();
    let vault = engine
        .catalog()
        .create_vault(
            "Pass",
            "development",
            vec![credential("https://p.example.com/mcp", "tok-pass")],
        )
        .expect("vault");
    drop(engine);

    let mut engine = Engine::open(dir.path()).expect("open");
    assert_eq!(
        engine.keys().unlock().expect_err("needs passphrase").code(),
        "passphrase_required"
    );
    assert_eq!(
        engine
            .keys()
            .unlock_with_passphrase(&UserSecret::new("wrong horse battery".into()))
            .expect_err("wrong")
            .code(),
        "wrong_passphrase"
    );
    engine
        .keys()
        .unlock_with_passphrase(&UserSecret::new("correct horse battery".into()))
        .expect("unlock");
    assert_eq!(
        injected(
            &mut engine,
            std::slice::from_ref(&vault.id),
            "https://p.example.com/mcp"
        )
        .as_deref(),
        Some("tok-pass")
    );
    drop(engine);

    // Forgotten passphrase: the recovery key sets a new one.
    let mut engine = Engine::open(dir.path()).expect("open");
    engine
        .keys()
        .recover(
            &UserSecret::new(recovery),
            SetupProtection::Passphrase(UserSecret::new("a brand new passphrase".into())),
        )
        .expect("recover");
    drop(engine);
    let mut engine = Engine::open(dir.path()).expect("open");
    engine
        .keys()
        .unlock_with_passphrase(&UserSecret::new("a brand new passphrase".into()))
        .expect("new passphrase works");
    assert_eq!(
        engine
            .keys()
            .unlock_with_passphrase(&UserSecret::new("correct horse battery".into()))
            .expect_err("old passphrase is gone")
            .code(),
        "wrong_passphrase"
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
