//! Team vaults read through the credential source, against a real OpenBao:
//! the cache checks the KV version every interval, a colleague's rotation
//! reaches a running session proxy (a 401 from the official Python SDK's
//! MCP server checks at once), a deleted secret stops working, the last
//! good value outlives a server that went down for a limited time only, a
//! server reset empty says the vault is not there, and a production vault
//! never joins a development session.

mod support;

use std::time::Duration;

use keybearer_base::secret::AccessToken;
use keybearer_proxy::SessionProxy;
use keybearer_source::{CredentialSource, CredentialUse, Scope, UsageSink};
use keybearer_team::{TeamSecret, TeamServer, TeamSource, TeamVault};
use serde_json::json;
use support::mcp_client::McpClient;
use support::peers::{sha256_hex, PythonServer};
use support::{
    assert_never_logged, capture_logs, clean_message, dev_vault, off_runtime,
    require_secret_service, write_token_file, Bao,
};

fn bearer(value: &str) -> TeamSecret {
    AccessToken::new(value.to_string()).expect("token").into()
}

/// Uses are not what these tests look at.
struct Discard;

impl UsageSink for Discard {
    fn record(&mut self, _uses: &[CredentialUse]) -> keybearer_base::Result<()> {
        Ok(())
    }
}

/// A member signed in with their own check interval and last-good limit.
fn member(
    bao: &Bao,
    id: &str,
    user: &str,
    password: &keybearer_base::secret::UserSecret,
    interval: Duration,
    limit: Duration,
) -> TeamServer {
    let settings = bao
        .settings(id)
        .with_check_interval(interval)
        .with_last_good_limit(limit);
    off_runtime(|| TeamServer::sign_in(settings, user, password)).expect("sign in")
}

fn exposed(source: &TeamSource, vault: &TeamVault, url: &str) -> Option<String> {
    let ids = [vault.id.clone()];
    off_runtime(|| source.lookup(Scope::Vaults(&ids), url))
        .expect("lookup")
        .map(|injection| injection.token.expose_for_injection().to_string())
}

/// Inside one MCP session through the proxy: Alice rotates the token, the
/// MCP server accepts only the new one, and the next call succeeds — the
/// 401 made the source check at once (the interval is ten minutes here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_colleagues_rotation_reaches_a_running_proxy() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let alice_password = bao.add_user("alice", "member-rw", "1h", "2h");
    let bob_password = bao.add_user("bob", "member-ro", "1h", "2h");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("accepted-token");
    write_token_file(&token_file, "tok-team-rotate-1");
    let server = PythonServer::start("streamable_http", &token_file);
    let url = server.url.clone();
    let vault = dev_vault("rotation");
    let alice = member(
        &bao,
        "rotate-alice",
        "alice",
        &alice_password,
        Duration::from_secs(600),
        Duration::from_secs(3600),
    );
    off_runtime(|| alice.put_credential(&vault, &url, &bearer("tok-team-rotate-1"), 0))
        .expect("write");

    let bob = member(
        &bao,
        "rotate-bob",
        "bob",
        &bob_password,
        Duration::from_secs(600),
        Duration::from_secs(3600),
    );
    let source = TeamSource::new("development")
        .expect("source")
        .with_vault(&bob, vault.clone())
        .expect("vault");
    let proxy = SessionProxy::start(
        source,
        Discard,
        "sesn_team_rotate",
        vec![vault.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
    assert_eq!(seen, sha256_hex("tok-team-rotate-1"));

    off_runtime(|| alice.put_credential(&vault, &url, &bearer("tok-team-rotate-2"), 1))
        .expect("rotate");
    write_token_file(&token_file, "tok-team-rotate-2");
    let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
    assert_eq!(seen, sha256_hex("tok-team-rotate-2"));

    proxy.stop().await;
    assert_never_logged(
        &[
            bao.secrets(),
            vec!["tok-team-rotate-1".into(), "tok-team-rotate-2".into()],
        ]
        .concat(),
    );
}

/// Within the check interval the cached value is used as it is; after it,
/// the version is checked and a rotation or a deletion counts. Through the
/// proxy, a deleted secret is refused there and never reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_and_deletion_count_within_the_check_interval() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let alice_password = bao.add_user("alice", "member-rw", "1h", "2h");
    let token_file = tempfile::tempdir().expect("tempdir");
    let token_path = token_file.path().join("accepted-token");
    write_token_file(&token_path, "tok-team-interval-1");
    let server = PythonServer::start("streamable_http", &token_path);
    let url = server.url.clone();
    let vault = dev_vault("interval");
    let interval = Duration::from_secs(2);
    let alice = member(
        &bao,
        "interval-alice",
        "alice",
        &alice_password,
        interval,
        Duration::from_secs(3600),
    );
    off_runtime(|| alice.put_credential(&vault, &url, &bearer("tok-team-interval-1"), 0))
        .expect("write");
    let source = TeamSource::new("development")
        .expect("source")
        .with_vault(&alice, vault.clone())
        .expect("vault");
    assert_eq!(
        exposed(&source, &vault, &url).as_deref(),
        Some("tok-team-interval-1")
    );

    off_runtime(|| alice.put_credential(&vault, &url, &bearer("tok-team-interval-2"), 1))
        .expect("rotate");
    // Within the interval: what was read, without asking the server.
    let before = bao.requests_seen();
    assert_eq!(
        exposed(&source, &vault, &url).as_deref(),
        Some("tok-team-interval-1")
    );
    assert_eq!(bao.requests_seen(), before, "answered from the cache");
    tokio::time::sleep(interval + Duration::from_millis(300)).await;
    assert_eq!(
        exposed(&source, &vault, &url).as_deref(),
        Some("tok-team-interval-2")
    );

    // Through a running proxy: the new token reaches the server; then the
    // secret is deleted and, after the interval, refused by the proxy.
    write_token_file(&token_path, "tok-team-interval-2");
    let proxy = SessionProxy::start(
        source,
        Discard,
        "sesn_team_interval",
        vec![vault.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    assert_eq!(
        client.call_tool("whoami", json!({})).await.expect("whoami"),
        sha256_hex("tok-team-interval-2")
    );
    off_runtime(|| alice.delete_credential(&vault, &url)).expect("delete");
    tokio::time::sleep(interval + Duration::from_millis(300)).await;
    let refused = client
        .call_tool("whoami", json!({}))
        .await
        .expect_err("deleted");
    let text = refused.to_string();
    assert!(
        text.contains("401") && text.contains("no longer hold"),
        "{text}"
    );
    let change = off_runtime(|| alice.last_change(&vault, &url))
        .expect("metadata")
        .expect("recorded");
    assert_eq!(
        (change.by.as_str(), change.change.as_str()),
        ("userpass-alice", "delete")
    );
    proxy.stop().await;
    assert_never_logged(
        &[
            bao.secrets(),
            vec!["tok-team-interval-1".into(), "tok-team-interval-2".into()],
        ]
        .concat(),
    );
}

/// The server goes down: the last value it confirmed is used until the
/// last-good limit, then refused with a message saying why. Started again
/// empty (dev mode keeps nothing): the old sign-in is gone ("sign in
/// again"), and after a new sign-in the vault is reported missing.
#[test]
fn a_server_down_then_reset_uses_the_last_good_value_for_a_while_only() {
    require_secret_service();
    capture_logs();
    let mut bao = Bao::start();
    let alice_password = bao.add_user("alice", "member-rw", "1h", "2h");
    let url = "https://mcp.example.com/mcp";
    let vault = dev_vault("outage");
    let interval = Duration::from_secs(1);
    let limit = Duration::from_secs(4);
    let alice = member(
        &bao,
        "outage-alice",
        "alice",
        &alice_password,
        interval,
        limit,
    );
    alice
        .put_credential(&vault, url, &bearer("tok-team-outage-1"), 0)
        .expect("write");
    let source = TeamSource::new("development")
        .expect("source")
        .with_vault(&alice, vault.clone())
        .expect("vault");
    assert_eq!(
        exposed(&source, &vault, url).as_deref(),
        Some("tok-team-outage-1")
    );
    let confirmed = std::time::Instant::now();

    bao.stop();
    std::thread::sleep(interval + Duration::from_millis(200));
    // Out of reach, within the limit: the last good value.
    assert_eq!(
        exposed(&source, &vault, url).as_deref(),
        Some("tok-team-outage-1")
    );
    std::thread::sleep((limit + Duration::from_millis(300)).saturating_sub(confirmed.elapsed()));
    let ids = [vault.id.clone()];
    let stale = source
        .lookup(Scope::Vaults(&ids), url)
        .expect_err("past the limit");
    assert_eq!(stale.code(), "team_server");
    let message = clean_message(&stale, &["tok-team-outage-1"]);
    assert!(
        message.contains("out of reach for more than 4 seconds"),
        "{message}"
    );

    bao.restart_empty();
    std::thread::sleep(interval);
    let signed_out = source
        .lookup(Scope::Vaults(&ids), url)
        .expect_err("the server forgot the sign-in");
    assert_eq!(signed_out.code(), "team_sign_in_required");

    let password = bao.add_user("alice", "member-rw", "1h", "2h");
    let again = member(&bao, "outage-alice", "alice", &password, interval, limit);
    let source = TeamSource::new("development")
        .expect("source")
        .with_vault(&again, vault.clone())
        .expect("vault");
    let missing = source
        .lookup(Scope::Vaults(&ids), url)
        .expect_err("nothing on the server");
    assert_eq!(missing.code(), "not_found");
    let message = clean_message(&missing, &["tok-team-outage-1"]);
    assert!(
        message.contains(
            "team vault team-kv/keybearer/development/outage/ was not found on the team server"
        ),
        "{message}"
    );
    assert_never_logged(&[bao.secrets(), vec!["tok-team-outage-1".into()]].concat());
}

/// A team source is made for one environment: a production vault cannot
/// be added to a development session's, and its path is its own.
#[test]
fn a_production_vault_never_serves_a_development_session() {
    require_secret_service();
    let mut bao = Bao::start();
    let password = bao.add_user("gina", "member-rw", "1h", "2h");
    let gina = member(
        &bao,
        "env-gina",
        "gina",
        &password,
        Duration::from_secs(30),
        Duration::from_secs(3600),
    );
    let production = TeamVault::new("tvl_prod", "production", "shared").expect("vault");
    let refused = TeamSource::new("development")
        .expect("source")
        .with_vault(&gina, production.clone())
        .err()
        .expect("refused");
    assert_eq!(refused.code(), "mixed_environments");
    let development = dev_vault("shared");
    let source = TeamSource::new("development")
        .expect("source")
        .with_vault(&gina, development)
        .expect("vault");
    // A vault id the session's source does not hold is not found, not guessed.
    let ids = [production.id.clone()];
    let unknown = source
        .lookup(Scope::Vaults(&ids), "https://mcp.example.com/mcp")
        .expect_err("unknown");
    assert_eq!(unknown.code(), "not_found");
    assert_ne!(
        gina.credential_path(&production, "https://mcp.example.com/mcp")
            .expect("path"),
        gina.credential_path(&dev_vault("shared"), "https://mcp.example.com/mcp")
            .expect("path")
    );
}
