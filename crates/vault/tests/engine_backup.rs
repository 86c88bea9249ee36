//! Backups at the engine (docs/architecture.md, "Backups"), against the
//! real keychain, real SQLite files and the real test authorization server
//! (`tests/oauth-peer/server.py`, access tokens living 2 s): an OAuth grant
//! of a confidential client, backed up in one data folder and restored in
//! another, is still renewed there — which takes its refresh token and its
//! client secret, so both travelled intact — while the file holds neither
//! in the clear. (The CLI's tests, `crates/cli/tests/backup.rs`, cover the
//! other credential kinds, another keychain and every refusal.)

mod support;

use std::time::Duration;

use keybearer_vault::oauth::{
    sign_in, ClientChoice, OAuthSecret, PreRegisteredClient, SignInOptions, TokenEndpointAuth,
};
use keybearer_vault::{
    BackupSeal, CredentialSecret, Engine, NewCredential, RestoreOptions, SealKind, SealedBackup,
    SetupProtection, UserSecret,
};
use serde_json::json;
use support::oauth_peer::{Browser, OAuthPeer};

#[test]
fn a_restored_oauth_grant_still_renews_with_its_refresh_token_and_client_secret() {
    support::require_secret_service();
    let peer = OAuthPeer::start(&["--access-token-lifetime", "2"]);
    let client = peer.register(json!({
        "client_name": "an administrator's client",
        "redirect_uris": ["http://127.0.0.1:1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_post",
    }));
    let client_secret = client["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let browser = Browser::new();
    let options = SignInOptions {
        client: ClientChoice::PreRegistered(PreRegisteredClient {
            client_id: client["client_id"].as_str().expect("id").to_string(),
            client_secret: Some(OAuthSecret::new(client_secret.clone())),
            token_endpoint_auth: Some(TokenEndpointAuth::ClientSecretPost),
        }),
        ..SignInOptions::default()
    };
    let stored = sign_in(&peer.url, &options, &|url| browser.open(url)).expect("sign-in");
    let access = stored.grant.access_token.expose_secret().to_string();
    let refresh = stored
        .grant
        .refresh_token
        .as_ref()
        .expect("a refresh token")
        .expose_secret()
        .to_string();

    let old = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::open(old.path()).expect("open");
    let recovery = engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init")
        .reveal_once()
        .to_string();
    engine
        .catalog()
        .create_vault(
            "Signed in",
            "development",
            vec![NewCredential {
                mcp_server_url: peer.url.clone(),
                protocol: None,
                secret: CredentialSecret::OAuth(Box::new(stored)),
            }],
        )
        .expect("vault");
    let file = old.path().join("grant.kbbackup");
    let made = engine
        .backups()
        .create(
            &file,
            BackupSeal::RecoveryKey(UserSecret::new(recovery.clone())),
            false,
        )
        .expect("backup");
    assert_eq!(made.credentials, 1);
    drop(engine);
    let bytes = std::fs::read(&file).expect("read");
    for secret in [&access, &refresh, &client_secret] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret in the clear in the backup"
        );
    }

    // Another data folder, set up by the restore itself.
    let new = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::open(new.path()).expect("open");
    let sealed = SealedBackup::read(&file).expect("read");
    assert_eq!(sealed.sealed_with(), SealKind::RecoveryKey);
    let opened = sealed.open(&UserSecret::new(recovery)).expect("open");
    assert_eq!(opened.contents().vaults[0].name, "Signed in");
    assert!(!format!("{opened:?}").contains(&refresh));
    let pending = engine
        .keys()
        .plan_setup(SetupProtection::Keychain)
        .expect("plan");
    let report = engine
        .backups()
        .restore(&opened, Some(pending), &RestoreOptions::default())
        .expect("restore");
    assert!(report.new_key);
    let vault = engine.catalog().vaults(None).expect("vaults")[0].id.clone();

    // Once the access token is due, the lookup renews it at the service:
    // as the confidential client (its secret) with the refresh token.
    std::thread::sleep(Duration::from_millis(2100));
    let renewed = engine
        .tokens()
        .expect("tokens")
        .lookup(&[vault], &peer.url)
        .expect("renewed")
        .expect("a credential")
        .token
        .expose_for_injection()
        .to_string();
    assert_ne!(renewed, access, "a new access token");
    assert_eq!(peer.stat("refreshes"), 1, "{}", peer.stats());
}
