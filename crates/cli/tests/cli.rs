//! `keybearer` end to end: the new-user flow and the leak scan over every file
//! and every output.

#![allow(clippy::print_stderr)]

mod support;

use std::process::Command;

use support::*;

#[test]
fn new_user_flow_restart_wipe_and_recover() {
    let v = Vault::new();
    let status = v.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["initialized"], false);

    let recovery = v.init();
    assert_eq!(recovery.split('-').count(), 8);
    v.run(&["init"], "").fails_with(4, "already set up");

    let vault = v.create_vault("GitHub", "production");
    let token = random_token("github");
    let added = v
        .add("GitHub", "https://api.githubcopilot.com/mcp/", &token)
        .ok()
        .json();
    assert_eq!(added["protocol"], "streamable_http");
    assert_eq!(added["type"], "static_bearer");

    let listed = v
        .run(&["--json", "vault", "list", "--env", "production"], "")
        .ok()
        .json();
    assert_eq!(listed[0]["id"], vault.as_str());
    assert_eq!(listed[0]["credential_count"], 1);
    let human = v.run(&["vault", "show", "GitHub"], "").ok();
    assert!(human.stdout.contains("https://api.githubcopilot.com/mcp/"));
    let creds = v
        .run(&["--json", "credential", "list", "--vault", &vault], "")
        .ok()
        .json();
    let fields: Vec<&String> = creds[0].as_object().expect("object").keys().collect();
    assert!(
        !fields.iter().any(|f| f.contains("token")),
        "fields: {fields:?}"
    );

    // A new process unlocks from the keychain and opens every token.
    v.run(&["credential", "check"], "").ok();

    // Keychain wiped: data is intact, the CLI asks for the recovery key and never re-keys.
    v.wipe_keychain_entry();
    v.run(&["credential", "check"], "")
        .fails_with(6, "recovery key");
    v.run(&["init"], "").fails_with(4, "already set up");
    let status = v.run(&["--json", "status"], "").ok().json();
    assert_eq!(status["recovery_needed"], true);
    v.run(&["recover"], "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH\n")
        .fails_with(6, "does not open");
    v.run(&["recover"], "not-a-key\n")
        .fails_with(2, "does not look like a recovery key");
    let recovered = v.run(&["recover"], &format!("{recovery}\n")).ok();
    assert!(recovered.stdout.contains("1 credential(s)"));
    v.run(&["credential", "check"], "").ok();
    assert_eq!(v.vault_count(), 1);

    let events = v.run(&["--json", "events"], "").ok().json();
    let kinds: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|event| event["kind"].as_str().expect("kind"))
        .collect();
    for kind in [
        "setup.completed",
        "vault.created",
        "credential.created",
        "key.recovered",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    v.assert_nowhere(token.as_bytes(), "the token");
}

#[test]
fn tokens_never_leak_into_database_wal_logs_or_output() {
    let v = Vault::new();
    let recovery = v.init();
    let data = v.data();
    // Keep a reader open so SQLite cannot fold the WAL away: it gets scanned too.
    let holder = rusqlite::Connection::open(data.join("vault.db")).expect("open");
    holder
        .query_row("SELECT COUNT(*) FROM vaults", [], |row| {
            row.get::<_, i64>(0)
        })
        .expect("read");

    let mut tokens = Vec::new();
    let a = v.create_vault("Alpha", "development");
    let b = v.create_vault("Beta", "development");
    let mut credential_ids = Vec::new();
    for (i, vault) in [&a, &a, &b, &b].iter().enumerate() {
        let token = random_token(&format!("leak{i}"));
        let url = format!("https://server{i}.example.com/mcp");
        let added = v.add(vault, &url, &token).ok().json();
        credential_ids.push(added["id"].as_str().expect("id").to_string());
        tokens.push(token);
    }
    let replacement = random_token("replacement");
    v.run(
        &["--json", "credential", "replace", &credential_ids[0]],
        &format!("{replacement}\n"),
    )
    .ok();
    tokens.push(replacement);
    v.run(&["credential", "delete", &credential_ids[1], "--yes"], "")
        .ok();
    v.run(&["vault", "delete", &b, "--yes"], "").ok();
    let in_create = random_token("increate");
    v.run(
        &[
            "vault",
            "create",
            "Gamma",
            "--env",
            "staging",
            "--credential-url",
            "https://g.example.com/sse",
        ],
        &format!("{in_create}\n"),
    )
    .ok();
    tokens.push(in_create);
    // Rejected input must not be echoed either.
    let rejected = format!("{} {}", random_token("bad"), "with-space");
    v.add(&a, "https://server9.example.com/mcp", &rejected)
        .fails_with(2, "spaces");
    tokens.push(rejected);
    for args in [
        vec!["--json", "vault", "list"],
        vec!["vault", "show", "Alpha"],
        vec!["--json", "events"],
        vec!["events"],
        vec!["--json", "status"],
        vec!["credential", "check"],
    ] {
        v.run(&args, "").ok();
    }
    let wal = std::fs::metadata(data.join("vault.db-wal")).expect("WAL exists");
    assert!(wal.len() > 0, "the WAL should hold recent writes");
    assert!(data.join("vault.db-shm").exists());
    assert!(data.join("keybearer.log").exists());

    // Positive control: the scan does read the files and output that hold data.
    let db_bytes = std::fs::read(data.join("vault.db")).expect("db");
    let wal_bytes = std::fs::read(data.join("vault.db-wal")).expect("wal");
    assert!(
        contains(&db_bytes, b"server2.example.com") || contains(&wal_bytes, b"server2.example.com")
    );
    assert!(contains(
        v.transcript.lock().expect("t").as_bytes(),
        credential_ids[2].as_bytes()
    ));
    for token in &tokens {
        v.assert_nowhere(token.as_bytes(), "a token");
    }
    // The recovery key and the master key itself are not in the data folder either.
    for path in std::fs::read_dir(&data).expect("dir") {
        let bytes = std::fs::read(path.expect("entry").path()).expect("read");
        assert!(!contains(&bytes, recovery.as_bytes()));
    }
    let master = Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "keybearer",
            "username",
            &v.keychain_account(),
        ])
        .output()
        .expect("secret-tool lookup");
    assert_eq!(
        master.stdout.len(),
        32,
        "the master key is 32 bytes in the keychain"
    );
    for path in std::fs::read_dir(&data).expect("dir") {
        let bytes = std::fs::read(path.expect("entry").path()).expect("read");
        assert!(
            !contains(&bytes, &master.stdout),
            "master key in the data folder"
        );
    }
    drop(holder);
}
