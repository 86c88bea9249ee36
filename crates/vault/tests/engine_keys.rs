//! The engine's master key against the real OS keychain and real SQLite files:
//! a wiped or wrong keychain key, recovery, passphrase protection, tampering.

mod support;

use keybearer_vault::{Engine, Error, OsKeychain, SetupProtection, UserSecret};
use support::engine::{credential, injected, new_engine, wipe_keychain_entry};
use support::token;

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
