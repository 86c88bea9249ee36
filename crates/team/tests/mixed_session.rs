//! A session whose vaults mix the local store and a team server: one
//! `Routed` source hands local vault ids (`vlt_…`) to the engine's tokens
//! part and team vault ids (`tvl_…`) to the team source, and the proxy
//! reaches two real MCP servers (the official Python SDK's), each with the
//! credential of its own vault. The engine's usage recorder writes the
//! audit trail of both. (keybearer-team never depends on the store: only
//! this test names both.)

mod support;

use std::sync::Arc;
use std::time::Duration;

use keybearer_base::secret::AccessToken;
use keybearer_proxy::SessionProxy;
use keybearer_source::Routed;
use keybearer_team::{TeamSecret, TeamServer, TeamSource, VAULT_ID_PREFIX};
use keybearer_vault::{Engine, NewCredential, SetupProtection};
use serde_json::json;
use support::mcp_client::McpClient;
use support::peers::{sha256_hex, PythonServer};
use support::{
    assert_never_logged, capture_logs, dev_vault, off_runtime, require_secret_service, Bao,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_of_local_and_team_vaults_reaches_both_servers() {
    require_secret_service();
    capture_logs();
    let local_server = PythonServer::with_token("streamable_http", "tok-mixed-local-1");
    let team_server = PythonServer::with_token("streamable_http", "tok-mixed-team-1");

    // The local vault, in the engine.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Engine::open(dir.path()).expect("open");
    engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    let local_vault = engine
        .catalog()
        .create_vault(
            "Local",
            "development",
            vec![NewCredential {
                mcp_server_url: local_server.url.clone(),
                protocol: None,
                secret: AccessToken::new("tok-mixed-local-1".into())
                    .expect("token")
                    .into(),
            }],
        )
        .expect("vault");

    // The team vault, on OpenBao.
    let mut bao = Bao::start();
    let password = bao.add_user("hana", "member-rw", "1h", "2h");
    let settings = bao
        .settings("mixed-hana")
        .with_check_interval(Duration::from_secs(30));
    let hana = off_runtime(|| TeamServer::sign_in(settings, "hana", &password)).expect("sign in");
    let team_vault = dev_vault("mixed");
    let secret: TeamSecret = AccessToken::new("tok-mixed-team-1".into())
        .expect("token")
        .into();
    let url = team_server.url.clone();
    off_runtime(|| hana.put_credential(&team_vault, &url, &secret, 0)).expect("write");

    let team = TeamSource::new("development")
        .expect("source")
        .with_vault(&hana, team_vault.clone())
        .expect("vault");
    let source = Routed::new(Arc::new(engine.tokens().expect("tokens")))
        .route(VAULT_ID_PREFIX, Arc::new(team));
    let proxy = SessionProxy::start(
        source,
        engine.usage_recorder().expect("recorder"),
        "sesn_mixed",
        vec![local_vault.id.clone(), team_vault.id.clone()],
        vec![local_server.url.clone(), team_server.url.clone()],
    )
    .await
    .expect("proxy");
    let secret = proxy.secret().expose_for_agent_config().to_string();
    for (listener, token) in proxy
        .listeners()
        .iter()
        .zip(["tok-mixed-local-1", "tok-mixed-team-1"])
    {
        let mut client = McpClient::new(&listener.local_url, &secret);
        client.initialize().await.expect("initialize");
        let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
        assert_eq!(seen, sha256_hex(token), "{}", listener.upstream_url);
    }
    proxy.stop().await;
    assert_never_logged(
        &[
            bao.secrets(),
            vec![
                "tok-mixed-local-1".into(),
                "tok-mixed-team-1".into(),
                secret,
            ],
        ]
        .concat(),
    );
}
