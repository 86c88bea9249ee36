//! Moving to a new computer (docs/architecture.md, "Backups"): `keybearer
//! backup create` on one computer — its own data folder, app settings and
//! the tests' private keychain — and `keybearer backup restore` on another,
//! with a second private Secret Service of its own (`support::keychain`).
//! Then the app connection's entries are written there (`apps sync`) and the
//! official Python SDK client reaches real servers through the bridge with
//! the restored credentials: a bearer token, two headers and an OAuth grant
//! (whose refresh token and client secret travel too). The backup file
//! holds none of the secrets in the clear.
//!
//! A passphrase-sealed backup opens with its passphrase only. What must
//! change nothing: `backup_refusals.rs`.

#![cfg(unix)]

mod support;

use support::apps::{claude_code_entries_in, entry_for, python_client_with};
use support::computer::{restored, Computer};
use support::keychain::{has_account, SecretService};
use support::session::{sha256_hex, start_mcp_server, start_peer_with_headers, token};

#[test]
fn a_backup_moves_every_credential_to_another_computer_and_keychain() {
    // The old computer: a bearer token, two headers, an OAuth grant.
    let old = Computer::new(Vec::new());
    let recovery = old.init();
    let bearer = token("bearer");
    let bearer_server = start_mcp_server("streamable_http", &bearer);
    let (key, org) = (token("apikey"), token("org"));
    let headers = [("X-API-Key", key.as_str()), ("X-Org", org.as_str())];
    let header_server = start_peer_with_headers(&headers);
    let access = token("oauth-access");
    let (refresh, client_secret) = (token("oauth-refresh"), token("client-secret"));
    let oauth_server = start_mcp_server("sse", &access);
    old.run(&["vault", "create", "Work"], "").ok();
    old.run(&["env", "create", "qa"], "").ok();
    old.run(&["vault", "create", "Checks", "--env", "qa"], "")
        .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &bearer_server.url,
        ],
        &format!("{bearer}\n"),
    )
    .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &header_server.url,
            "--header",
            "X-API-Key",
            "--header",
            "X-Org",
        ],
        &format!("{key}\n{org}\n"),
    )
    .ok();
    let grant = serde_json::json!({
        "type": "mcp_oauth",
        "access_token": access,
        "expires_at": "2099-01-01T00:00:00Z",
        "refresh": {
            "client_id": "keybearer-test",
            "refresh_token": refresh,
            "token_endpoint": "https://auth.example.com/token",
            "token_endpoint_auth": {"type": "client_secret_post", "client_secret": client_secret},
        },
    });
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            &oauth_server.url,
            "--protocol",
            "sse",
            "--from-json",
        ],
        &grant.to_string(),
    )
    .ok();
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Checks",
            "--url",
            "https://qa.example.com/mcp",
        ],
        &format!("{}\n", token("qa")),
    )
    .ok();
    old.run(&["apps", "connect", "claude-code", "--vault", "Work"], "")
        .ok();

    let file = old.dir.path().join("move.kbbackup");
    let file_arg = file.to_str().expect("path");
    // A key that is not the current recovery key seals nothing.
    old.run(
        &["backup", "create", file_arg],
        "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH\n",
    )
    .fails_with(6, "not the current recovery key");
    assert!(!file.exists());
    let made = old
        .run(
            &["--json", "backup", "create", file_arg],
            &format!("{recovery}\n"),
        )
        .ok()
        .json();
    assert_eq!(made["vaults"], 2, "{made}");
    assert_eq!(made["credentials"], 4, "{made}");
    assert_eq!(made["connections"], 1, "{made}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&file).expect("file").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let bytes = std::fs::read(&file).expect("read");
    let secrets = [
        bearer.as_str(),
        key.as_str(),
        org.as_str(),
        access.as_str(),
        refresh.as_str(),
        client_secret.as_str(),
        recovery.as_str(),
    ];
    for secret in secrets {
        assert!(
            !support::contains(&bytes, secret.as_bytes()),
            "a secret in the clear in the backup file"
        );
    }
    // Nor in any other encoding a careless writer would use.
    for secret in &secrets[..6] {
        let base64 = data_encoding::BASE64.encode(secret.as_bytes());
        assert!(!support::contains(&bytes, &base64.as_bytes()[..16]));
    }
    // An existing file is kept unless --force.
    old.run(&["backup", "create", file_arg], &format!("{recovery}\n"))
        .fails_with(20, "already exists");
    assert_eq!(std::fs::read(&file).expect("read"), bytes);

    // The new computer: another data folder, another keychain.
    let keychain = SecretService::start();
    let new = Computer::new(keychain.env());
    let run = new
        .run(
            &["--json", "backup", "restore", file_arg],
            &format!("{recovery}\n"),
        )
        .ok();
    let (new_recovery, report) = restored(&run);
    assert_ne!(
        new_recovery, recovery,
        "this computer has its own recovery key"
    );
    assert_eq!(report["vaults"], 2, "{report}");
    assert_eq!(report["credentials"], 4, "{report}");
    assert_eq!(report["new_key"], true);
    let connection = &report["connections"][0];
    assert_eq!(connection["app"], "claude-code");
    let config_path = new.home().join(".claude.json");
    assert_eq!(
        connection["config_path"],
        config_path.to_str().expect("path"),
        "this computer's settings file, not the old one's"
    );

    let status = new.status();
    assert_eq!(status["initialized"], true);
    let account = status["keychain_account"].as_str().expect("account");
    assert!(
        has_account(&keychain.env(), account),
        "the key is in the new keychain"
    );
    assert!(!has_account(&[], account), "and not in the old one");
    let old_account = old.status()["keychain_account"]
        .as_str()
        .expect("account")
        .to_string();
    assert!(!has_account(&keychain.env(), &old_account));
    new.run(&["credential", "check"], "").ok();

    // The apps' entries, written on this computer, reach every server.
    let synced = new.run(&["apps", "sync"], "").ok();
    assert!(synced.code == 0, "{}", synced.stderr);
    let entries = claude_code_entries_in(&new.home());
    assert_eq!(entries.len(), 3, "{entries:?}");
    let lines = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut outputs = Vec::new();
    for (server, expected) in [
        (&bearer_server.url, sha256_hex(&bearer)),
        (&header_server.url, sha256_hex(&lines)),
        (&oauth_server.url, sha256_hex(&access)),
    ] {
        let entry = entry_for(&entries, server);
        assert!(entry
            .args
            .iter()
            .any(|a| a == connection["id"].as_str().expect("id")));
        let run = python_client_with(entry, &["--tool", "whoami"], &keychain.env());
        assert!(run.ok, "{server}: {} {}", run.answer, run.stderr);
        assert_eq!(run.answer["result"], expected, "{server}");
        outputs.push(run.answer.to_string() + &run.stderr);
    }

    // The restore is recorded; the secrets are nowhere in the clear.
    let events = new.run(&["--json", "events"], "").ok().stdout;
    assert!(events.contains("backup.restored"), "{events}");
    assert!(old
        .run(&["--json", "events"], "")
        .ok()
        .stdout
        .contains("backup.created"));
    let settings = std::fs::read_to_string(&config_path).expect("settings");
    // The recovery keys are printed, once, by design; never kept or logged.
    for key in [&recovery, &new_recovery] {
        old.assert_no_file_holds(key);
        new.assert_no_file_holds(key);
    }
    for secret in &secrets[..6] {
        new.assert_nowhere(secret);
        old.assert_nowhere(secret);
        assert!(!settings.contains(secret));
        assert!(outputs.iter().all(|output| !output.contains(secret)));
    }
}

#[test]
fn a_passphrase_backup_opens_with_its_passphrase_only() {
    let old = Computer::new(Vec::new());
    old.init();
    old.run(&["vault", "create", "Work"], "").ok();
    let secret = token("pass");
    old.run(
        &[
            "credential",
            "add",
            "--vault",
            "Work",
            "--url",
            "https://p.example.com/mcp",
        ],
        &format!("{secret}\n"),
    )
    .ok();
    let file = old.dir.path().join("p.kbbackup");
    let path = file.to_str().expect("path");
    old.run(&["backup", "create", path, "--passphrase"], "short\n")
        .fails_with(2, "at least 10 characters");
    assert!(!file.exists());
    let passphrase = "four unrelated words here";
    let made = old
        .run(
            &["--json", "backup", "create", path, "--passphrase"],
            &format!("{passphrase}\n"),
        )
        .ok()
        .json();
    assert_eq!(made["sealed_with"], "passphrase");
    let bytes = std::fs::read(&file).expect("read");
    assert!(!support::contains(&bytes, secret.as_bytes()));
    assert!(!support::contains(&bytes, passphrase.as_bytes()));

    let new = Computer::new(Vec::new());
    new.run(&["backup", "restore", path], "not the passphrase at all\n")
        .fails_with(6, "passphrase does not open");
    assert_eq!(new.status()["initialized"], false);
    let run = new
        .run(&["backup", "restore", path], &format!("{passphrase}\n"))
        .ok();
    assert!(
        run.stdout
            .contains("Restored 1 vault(s) and 1 credential(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("still opens with its passphrase"),
        "{}",
        run.stdout
    );
    new.run(&["credential", "check"], "").ok();
    new.assert_nowhere(&secret);
    new.assert_nowhere(passphrase);
}
