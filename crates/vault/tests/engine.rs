//! The engine against the real OS keychain (a Secret Service started by
//! `scripts/with-secret-service.sh`) and real SQLite files: tokens across a
//! restart, resolution by vault order, rotation, deletion and the token cache.

mod support;

use std::sync::Arc;

use keybearer_vault::{CredentialUse, Engine, KeyProtection, Protocol, Timestamp, UseKind};
use support::engine::{credential, injected, new_engine};
use support::token;

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
            connection_id: None,
            method: Some("POST".into()),
            status: Some(200),
            detail: None,
            at: Timestamp::now(),
            count: 1,
            kind: UseKind::Used,
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
            connection_id: None,
            method: Some("POST".into()),
            status: Some(200),
            detail: None,
            at: Timestamp::now(),
            count: 1,
            kind: UseKind::Used,
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
