//! `keybearer team` and team vaults through the real binary, against a
//! real OpenBao (`bao server -dev`, crates/team/tests/support/bao.rs) and a
//! real MCP server (the official Python SDK's): two teammates, each with a
//! data folder of their own, share a vault; the read-only one is refused
//! before being asked for a value; every output says the server's
//! administrators can read team vaults; the CA file's fingerprint is shown
//! before it is trusted; sign-out revokes. No password, token or value in
//! any output or file of the data folders.
#![cfg(unix)]

#[path = "../../team/tests/support/bao.rs"]
mod bao;
mod support;

use bao::Bao;
use http::Method;
use serde_json::{json, Value};
use support::peers::start_mcp_server;
use support::Vault;

fn add_team(user: &Vault, bao: &Bao) -> Value {
    user.run(
        &[
            "--json",
            "team",
            "add",
            &bao.address,
            "--name",
            "acme",
            "--mount",
            bao::MOUNT,
        ],
        "",
    )
    .ok()
    .json()
}

/// A member's own token, as `bao login` would give it (for `--token`).
fn login_token(bao: &Bao, user: &str, password: &str) -> String {
    let (status, answer) = bao.request_with(
        Method::POST,
        &format!("auth/userpass/login/{user}"),
        Some(json!({ "password": password })),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    answer["auth"]["client_token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn teammates_share_a_team_vault_through_the_cli() {
    let mut bao = Bao::start();
    let alice_password = bao.add_user("alice", "member-rw", "1h", "2h");
    let bob_password = bao.add_user("bob", "member-ro", "1h", "2h");
    let token_1 = support::random_token("team1");
    let token_2 = support::random_token("team2");
    let server = start_mcp_server("streamable_http", &token_1);

    let alice = Vault::new();
    alice.init();
    let added = add_team(&alice, &bao);
    assert_eq!(added["server"]["name"], "acme");
    assert_eq!(added["server"]["path_template"], "keybearer/{environment}/");
    // Nothing to sign in with yet: the vault cannot be made.
    alice
        .run(&["vault", "create", "Shared", "--team", "acme"], "")
        .fails_with(14, "Sign in to the team server again");
    alice
        .run(
            &["team", "sign-in", "acme", "--user", "alice"],
            &format!("{}\n", alice_password.expose()),
        )
        .ok();
    let listed = alice.run(&["--json", "team", "list"], "").ok().json();
    assert_eq!(listed[0]["sign_in"]["state"], "signed_in");
    assert_eq!(listed[0]["sign_in"]["who"], "userpass-alice");

    let created = alice
        .run(
            &[
                "vault",
                "create",
                "Shared",
                "--team",
                "acme",
                "--env",
                "development",
            ],
            "",
        )
        .ok();
    assert!(
        created.stdout.contains("Created the team vault"),
        "{}",
        created.stdout
    );
    assert!(
        created.stdout.contains("administrators") && created.stdout.contains("can read them"),
        "{}",
        created.stdout
    );
    let added = alice
        .run(
            &[
                "credential",
                "add",
                "--vault",
                "Shared",
                "--url",
                &server.url,
            ],
            &format!("{token_1}\n"),
        )
        .ok();
    assert!(added.stdout.contains("team vault"), "{}", added.stdout);
    assert!(added.stdout.contains("can read them"), "{}", added.stdout);
    let list = alice
        .run(&["--json", "credential", "list", "--vault", "Shared"], "")
        .ok()
        .json();
    let id = list[0]["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("tcr_"), "{id}");
    alice.run(&["credential", "test", &id], "").ok();
    let vaults = alice.run(&["vault", "list"], "").ok();
    assert!(vaults.stdout.contains("team: acme"), "{}", vaults.stdout);
    assert!(
        vaults.stdout.contains("administrators can read them"),
        "{}",
        vaults.stdout
    );

    // Bob, read-only, signs in with a token and joins the same folder.
    let bob = Vault::new();
    bob.init();
    add_team(&bob, &bao);
    let bob_token = login_token(&bao, "bob", bob_password.expose());
    bob.run(
        &["team", "sign-in", "acme", "--token"],
        &format!("{bob_token}\n"),
    )
    .ok();
    let joined = bob
        .run(
            &[
                "--json",
                "vault",
                "create",
                "Shared",
                "--team",
                "acme",
                "--env",
                "development",
            ],
            "",
        )
        .ok()
        .json();
    assert_eq!(joined["team"]["folder"], "shared");
    let seen = bob
        .run(&["--json", "credential", "list", "--vault", "Shared"], "")
        .ok()
        .json();
    assert_eq!(seen[0]["mcp_server_url"], server.url);
    assert_eq!(seen[0]["type"], "static_bearer");
    // Refused before a value is asked for (stdin is never read).
    bob.run(
        &[
            "credential",
            "add",
            "--vault",
            "Shared",
            "--url",
            "https://other.example.com/mcp",
        ],
        "tok-never-read\n",
    )
    .fails_with(
        15,
        "does not let you change credentials in team-kv/keybearer/development/shared/",
    );
    let bob_id = seen[0]["id"].as_str().expect("id");
    bob.run(&["credential", "replace", bob_id], "tok-never-read\n")
        .fails_with(15, "does not let you change");
    // Bob tests it from his computer: the server accepts the shared token.
    bob.run(&["credential", "test", bob_id], "").ok();

    // Alice rotates; the MCP server accepts only the first token, so the
    // new one, read back from the team server, is refused there.
    alice
        .run(&["credential", "replace", &id], &format!("{token_2}\n"))
        .ok();
    bob.run(&["credential", "test", bob_id], "").code(10);

    // Who changed which credential, and when: Keybearer's changes name
    // their author; one made outside Keybearer has its time only.
    let history = alice
        .run(&["--json", "team", "history", "Shared"], "")
        .ok()
        .json();
    let changes = history.as_array().expect("history");
    assert_eq!(changes.len(), 2, "{history}");
    for (change, version) in changes.iter().zip([2, 1]) {
        assert_eq!(change["version"], version, "{history}");
        assert_eq!(change["change"], "write");
        assert_eq!(change["by"], "userpass-alice");
        assert_eq!(change["url"], server.url);
    }
    let key = changes[0]["key"].as_str().expect("key");
    bao.root(
        Method::POST,
        &format!("{}/data/keybearer/development/shared/{key}", bao::MOUNT),
        json!({"data": {"url": server.url, "type": "static_bearer", "token": token_1}}),
    );
    alice.run(&["credential", "delete", &id, "--yes"], "").ok();
    let history = bob
        .run(
            &["--json", "team", "history", "Shared", "--url", &server.url],
            "",
        )
        .ok()
        .json();
    let changes = history.as_array().expect("history");
    let summary: Vec<(u64, &str, Option<&str>)> = changes
        .iter()
        .map(|c| {
            (
                c["version"].as_u64().expect("version"),
                c["change"].as_str().expect("change"),
                c["by"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, "delete", Some("userpass-alice")),
            (3, "write", None),
            (2, "write", Some("userpass-alice")),
            (1, "write", Some("userpass-alice")),
        ],
        "{history}"
    );
    let shown = bob.run(&["team", "history", "Shared"], "").ok();
    assert!(
        shown.stdout.contains("changed outside Keybearer"),
        "{}",
        shown.stdout
    );

    // A production vault is a folder of its own, which Alice's policy
    // (development only) does not reach.
    alice
        .run(
            &[
                "vault",
                "create",
                "Shared prod",
                "--team",
                "acme",
                "--env",
                "production",
                "--folder",
                "shared",
            ],
            "",
        )
        .fails_with(15, "team-kv/keybearer/production/shared/");

    // Signing out revokes the token on the server.
    alice.run(&["team", "sign-out", "acme"], "").ok();
    alice
        .run(&["credential", "list", "--vault", "Shared"], "")
        .fails_with(14, "Sign in to the team server again");
    let (status, _) = bao.request_with(
        Method::GET,
        "auth/token/lookup-self",
        None,
        Some(&bob_token),
    );
    assert_eq!(status, 200, "Bob's sign-in is his own");
    bob.run(&["--json", "team", "remove", "acme", "--yes"], "")
        .ok();
    let (status, _) = bao.request_with(
        Method::GET,
        "auth/token/lookup-self",
        None,
        Some(&bob_token),
    );
    assert_eq!(status, 403, "removing the server revoked Bob's token");
    assert_eq!(bob.vault_count(), 0);

    for user in [&alice, &bob] {
        for secret in [
            token_1.as_str(),
            token_2.as_str(),
            alice_password.expose(),
            bob_password.expose(),
            bob_token.as_str(),
            bao.root_token.as_str(),
        ] {
            user.assert_nowhere(secret.as_bytes(), "a secret");
        }
    }
    bao.stop();
}

/// A server over TLS with its own CA: refused until its CA file is added;
/// the fingerprint is shown first and must be confirmed; plain http is
/// refused for another computer.
#[test]
fn a_team_servers_ca_is_shown_before_it_is_trusted() {
    let mut bao = Bao::start_tls();
    let password = bao.add_user("tess", "member-rw", "1h", "2h");
    let ca_file = bao.ca_file.clone().expect("ca");
    let ca = ca_file.to_str().expect("path");
    let user = Vault::new();
    user.init();

    user.run(&["team", "add", &bao.address, "--mount", bao::MOUNT], "")
        .fails_with(16, "certificate this computer does not trust");
    user.run(&["team", "add", "http://bao.example.com:8200"], "")
        .fails_with(2, "Only https://");
    // No terminal to confirm on: refused, nothing added.
    let refused = user
        .run(
            &[
                "team",
                "add",
                &bao.address,
                "--mount",
                bao::MOUNT,
                "--ca-file",
                ca,
            ],
            "",
        )
        .code(2);
    let fingerprint = fingerprint_of(&std::fs::read_to_string(&ca_file).expect("ca"));
    assert!(refused.stderr.contains(&fingerprint), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Nothing was added"),
        "{}",
        refused.stderr
    );
    assert!(user
        .run(&["--json", "team", "list"], "")
        .ok()
        .json()
        .as_array()
        .expect("list")
        .is_empty());

    let added = user
        .run(
            &[
                "--json",
                "team",
                "add",
                &bao.address,
                "--mount",
                bao::MOUNT,
                "--ca-file",
                ca,
                "--yes",
                "--name",
                "tls",
            ],
            "",
        )
        .ok();
    assert!(added.stderr.contains(&fingerprint), "{}", added.stderr);
    assert_eq!(added.json()["server"]["ca_fingerprints"][0], fingerprint);
    // The CA is kept as it was trusted: the file changed later trusts nothing new.
    std::fs::write(&ca_file, "not a certificate").expect("overwrite");
    user.run(
        &["team", "sign-in", "tls", "--user", "tess"],
        &format!("{}\n", password.expose()),
    )
    .ok();
    let listed = user.run(&["--json", "team", "list"], "").ok().json();
    assert_eq!(listed[0]["sign_in"]["state"], "signed_in");
    user.assert_nowhere(password.expose().as_bytes(), "the password");
}

/// `AB:CD:…`: the SHA-256 of the PEM's first certificate.
fn fingerprint_of(pem: &str) -> String {
    use sha2::{Digest, Sha256};
    let body: String = pem
        .lines()
        .skip_while(|line| !line.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|line| !line.starts_with("-----END"))
        .collect();
    let der = data_encoding::BASE64
        .decode(body.as_bytes())
        .expect("base64");
    data_encoding::HEXUPPER
        .encode(&Sha256::digest(&der))
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}
