//! A team server's client against a real OpenBao: members sign in
//! (`userpass`), the token lives in the keychain, a teammate's write is
//! read by another member, a read-only member cannot write, an expired or
//! revoked sign-in asks for a new one without a loop of requests, sign-out
//! revokes, a secret naming another server is never used, and a server
//! whose certificate is not trusted is refused until its CA file is added.
//! Nothing secret reaches argv, logs or errors.

mod support;

use std::time::Duration;

use http::Method;
use keybearer_base::secret::AccessToken;
use keybearer_base::secret_header::SecretHeader;
use keybearer_team::{Access, TeamSecret, TeamServer};
use support::{
    assert_never_logged, capture_logs, clean_message, dev_vault, require_secret_service, sign_in,
    Bao,
};

fn bearer(value: &str) -> TeamSecret {
    AccessToken::new(value.to_string()).expect("token").into()
}

const URL: &str = "https://mcp.example.com/mcp";

/// Alice writes, Bob (read-only) reads; who wrote is on the server; Bob
/// is told before anything is written that he may not change it; a stale
/// change is refused whole.
#[test]
fn a_teammates_change_is_read_by_another_member_who_may_not_write() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let alice_password = bao.add_user("alice", "member-rw", "1h", "2h");
    let bob_password = bao.add_user("bob", "member-ro", "1h", "2h");
    let vault = dev_vault("shared");

    let alice = sign_in(&bao, "share-alice", "alice", &alice_password);
    let bob = sign_in(&bao, "share-bob", "bob", &bob_password);
    assert_eq!(alice.who().display_name, "userpass-alice");
    assert_eq!(
        alice.access(&vault).expect("access"),
        Access {
            read: true,
            write: true
        }
    );
    assert_eq!(
        bob.access(&vault).expect("access"),
        Access {
            read: true,
            write: false
        }
    );

    let version = alice
        .put_credential(&vault, URL, &bearer("tok-shared-1"), 0)
        .expect("alice writes");
    assert_eq!(version, 1);
    let read = bob
        .credential(&vault, URL)
        .expect("bob reads")
        .expect("there");
    assert_eq!(read.version, 1);
    assert_eq!(read.url, URL);
    match &read.secret {
        TeamSecret::Bearer(token) => assert_eq!(token.expose(), "tok-shared-1"),
        other => panic!("{other:?}"),
    }
    let change = bob
        .last_change(&vault, URL)
        .expect("metadata")
        .expect("recorded");
    assert_eq!(change.by, "userpass-alice");
    assert_eq!(change.version, Some(1));
    assert_eq!(change.change, "write");
    assert!(change.entity_id.is_some());

    // Bob may read only: refused before anything is written, naming the vault.
    let before = bao.requests_seen();
    let refused = bob
        .put_credential(&vault, URL, &bearer("tok-bob-overwrite"), 1)
        .expect_err("read-only");
    assert_eq!(refused.code(), "team_denied");
    let message = clean_message(&refused, &["tok-bob-overwrite", "tok-shared-1"]);
    assert!(
        message.contains(
            "does not let you change credentials in team-kv/keybearer/development/shared/"
        ),
        "{message}"
    );
    assert!(bao.requests_seen() - before <= 2, "no write was sent");
    assert_eq!(
        bob.credential(&vault, URL)
            .expect("read")
            .expect("there")
            .version,
        1
    );

    // A change made from a version that is no longer current: nothing written.
    alice
        .put_credential(&vault, URL, &bearer("tok-shared-2"), 1)
        .expect("rotate");
    let stale = alice
        .put_credential(&vault, URL, &bearer("tok-shared-stale"), 1)
        .expect_err("stale");
    assert_eq!(stale.code(), "team_conflict");
    let now = bob.credential(&vault, URL).expect("read").expect("there");
    assert_eq!(now.version, 2);

    // Headers credentials, like local ones.
    let headers = TeamSecret::headers(vec![SecretHeader::new(
        "X-API-Key",
        "key-team-header-1".into(),
    )
    .expect("header")])
    .expect("headers");
    let other = "https://api.example.org/v1/mcp";
    alice
        .put_credential(&vault, other, &headers, 0)
        .expect("headers");
    let read = bob.credential(&vault, other).expect("read").expect("there");
    assert_eq!(read.secret.header_names(), ["X-API-Key"]);

    // Nothing for an address the vault has no secret for.
    assert!(bob
        .credential(&vault, "https://other.example.com/mcp")
        .expect("read")
        .is_none());

    // A member's policy covers development only: a production read is
    // refused naming the path, with no value.
    let production =
        keybearer_team::TeamVault::new("tvl_prod", "production", "shared").expect("vault");
    let denied = bob.credential(&production, URL).expect_err("denied");
    assert_eq!(denied.code(), "team_denied");
    let message = clean_message(&denied, &["tok-shared-2"]);
    assert!(
        message.contains("team-kv/keybearer/production/shared/"),
        "{message}"
    );

    assert_never_logged(
        &[
            bao.secrets(),
            vec![
                "tok-shared-1".into(),
                "tok-shared-2".into(),
                "key-team-header-1".into(),
            ],
        ]
        .concat(),
    );
}

/// A secret stored under one server's name but naming another server's
/// address (an administrator's slip, or someone steering a token) is
/// refused: never sent to the server asked for, its value never quoted.
#[test]
fn a_secret_for_another_server_is_never_used() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let password = bao.add_user("ivan", "member-ro", "1h", "2h");
    let ivan = sign_in(&bao, "misfiled-ivan", "ivan", &password);
    let vault = dev_vault("misfiled");
    let asked = "https://attacker.example.net/mcp";
    let path = ivan.credential_path(&vault, asked).expect("path");
    bao.root(
        Method::POST,
        &format!("{}/data/{path}", support::MOUNT),
        serde_json::json!({"data": {"url": URL, "type": "static_bearer", "token": "tok-misfiled-1"}}),
    );
    let refused = ivan
        .credential(&vault, asked)
        .expect_err("another server's");
    assert_eq!(refused.code(), "team_server");
    let message = clean_message(&refused, &["tok-misfiled-1"]);
    assert!(
        message.contains("a credential for another server address"),
        "{message}"
    );
    assert_never_logged(&[bao.secrets(), vec!["tok-misfiled-1".into()]].concat());
}

/// The token is in the keychain (another process resumes with it), and
/// sign-out revokes it on the server and removes it here.
#[test]
fn the_sign_in_lives_in_the_keychain_and_sign_out_revokes_it() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let password = bao.add_user("carol", "member-rw", "1h", "2h");
    let carol = sign_in(&bao, "keychain-carol", "carol", &password);
    let saved = keyring::Entry::new("keybearer-team", "team-server-keychain-carol")
        .expect("entry")
        .get_password()
        .expect("saved in the keychain");
    let (status, _) = bao.request_with(Method::GET, "auth/token/lookup-self", None, Some(&saved));
    assert_eq!(status, 200);

    let resumed = TeamServer::resume(bao.settings("keychain-carol")).expect("resume");
    assert_eq!(resumed.who().display_name, "userpass-carol");

    assert!(carol.sign_out().expect("sign out"), "revoked on the server");
    let (status, _) = bao.request_with(Method::GET, "auth/token/lookup-self", None, Some(&saved));
    assert_eq!(status, 403, "the token no longer works");
    let gone = TeamServer::resume(bao.settings("keychain-carol")).expect_err("signed out");
    assert_eq!(gone.code(), "team_sign_in_required");
    assert!(gone
        .to_string()
        .contains("Sign in to the team server again"));

    // A wrong password: the user's words, nothing saved.
    let wrong = TeamServer::sign_in(
        bao.settings("keychain-carol"),
        "carol",
        &keybearer_base::secret::UserSecret::new("not-the-password-123".into()),
    )
    .expect_err("wrong password");
    assert_eq!(wrong.code(), "invalid_input");
    assert!(!wrong.to_string().contains("not-the-password-123"));
    assert_never_logged(&[bao.secrets(), vec![saved]].concat());
}

/// A short-lived token is renewed while it may be; one past its maximum
/// TTL, or revoked by the administrator, asks for a new sign-in, and
/// nothing more is sent to the server after that.
#[test]
fn expiry_and_revocation_ask_for_a_new_sign_in_without_a_loop() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let renewed_password = bao.add_user("dave", "member-rw", "3s", "1h");
    let capped_password = bao.add_user("erin", "member-rw", "3s", "3s");
    let vault = dev_vault("expiry");

    let dave = sign_in(&bao, "expiry-dave", "dave", &renewed_password);
    let erin = sign_in(&bao, "expiry-erin", "erin", &capped_password);
    dave.put_credential(&vault, URL, &bearer("tok-expiry-1"), 0)
        .expect("write");
    std::thread::sleep(Duration::from_secs(6));
    // Renewed by now (twice its first time to live): still signed in.
    assert!(dave.credential(&vault, URL).expect("renewed").is_some());
    assert!(dave.is_signed_in());
    // Erin's token could not outlive its maximum TTL.
    let expired = erin.credential(&vault, URL).expect_err("expired");
    assert_eq!(expired.code(), "team_sign_in_required");
    assert!(expired
        .to_string()
        .contains("Sign in to the team server again"));
    let after = bao.requests_seen();
    for _ in 0..5 {
        assert_eq!(
            erin.credential(&vault, URL).expect_err("still").code(),
            "team_sign_in_required"
        );
    }
    assert_eq!(
        bao.requests_seen(),
        after,
        "no request after the sign-in ended"
    );

    // The administrator revokes every userpass token.
    bao.root(
        Method::POST,
        "sys/leases/revoke-prefix/auth/userpass",
        serde_json::json!({}),
    );
    let revoked = dave.credential(&vault, URL).expect_err("revoked");
    assert_eq!(revoked.code(), "team_sign_in_required");
    let after = bao.requests_seen();
    assert!(dave.credential(&vault, URL).is_err());
    assert!(!dave.is_signed_in());
    assert_eq!(bao.requests_seen(), after, "no loop of refused requests");
    assert_never_logged(&bao.secrets());
}

/// `-dev-tls`: a certificate the system does not trust is refused (nothing
/// sent, the user told to add the CA file); with the CA file, it works.
#[test]
fn an_untrusted_certificate_is_refused_until_the_ca_file_is_added() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start_tls();
    let password = bao.add_user("frank", "member-rw", "1h", "2h");
    let without_ca =
        keybearer_team::TeamServerSettings::new("tls-frank", &bao.address, support::MOUNT)
            .expect("settings");
    let refused = TeamServer::sign_in(without_ca, "frank", &password).expect_err("untrusted");
    assert_eq!(refused.code(), "team_server");
    let message = refused.to_string();
    assert!(message.contains("does not trust"), "{message}");
    assert!(message.contains("add its CA file"), "{message}");

    let frank = sign_in(&bao, "tls-frank", "frank", &password);
    let vault = dev_vault("tls");
    frank
        .put_credential(&vault, URL, &bearer("tok-over-tls-1"), 0)
        .expect("write over TLS");
    assert!(frank.credential(&vault, URL).expect("read").is_some());

    // A file that is not a certificate: said so, nothing sent.
    let bad_ca = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(bad_ca.path(), "not a certificate").expect("write");
    let settings = bao.settings("tls-frank").with_ca_file(bad_ca.path());
    let error = TeamServer::sign_in(settings, "frank", &password).expect_err("bad CA");
    assert_eq!(error.code(), "invalid_input");
    assert_never_logged(&[bao.secrets(), vec!["tok-over-tls-1".into()]].concat());
}
