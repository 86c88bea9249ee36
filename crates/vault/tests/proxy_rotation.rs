//! The injecting proxy while credentials change: a replaced token is used
//! from the next request, a deleted one stops working, and vault order
//! decides; changes made by this engine or by a second one on the same SQLite
//! files, with the official Python MCP SDK's server and the real keychain.

mod support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Method, StatusCode};
use http_body_util::Full;
use keybearer_vault::{Engine, NewCredential};
use serde_json::json;
use support::mcp_client::McpClient;
use support::peers::{sha256_hex, PythonServer};
use support::{
    assert_never_logged, body_text, capture_logs, engine_with, request_to, send_raw, start_proxy,
    text, token, write_token_file, Upstream,
};

/// Rotation inside one MCP session: the next request carries the new token,
/// whether it was replaced by another connection (the CLI) or by this engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_token_is_used_from_the_next_request() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token_file = dir.path().join("accepted-token");
    write_token_file(&token_file, "tok-rotate-1");
    let server = PythonServer::start("streamable_http", &token_file);
    let (mut engine, vault) = engine_with(&data, "development", &server.url, "tok-rotate-1");
    let proxy = start_proxy(
        &mut engine,
        "sesn_rotate",
        vec![vault.id.clone()],
        vec![server.url.clone()],
    )
    .await
    .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    let mut client = McpClient::new(&local, proxy.secret().expose_for_agent_config());
    client.initialize().await.expect("initialize");
    let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
    assert_eq!(seen, sha256_hex("tok-rotate-1"));

    // Another process's connection replaces it; the server now accepts only the new one.
    let first_id = engine.catalog().credentials(&vault.id).expect("list")[0]
        .id
        .clone();
    let mut cli = Engine::open(&data).expect("second engine");
    cli.keys().unlock().expect("unlock");
    let second = cli
        .catalog()
        .replace_token(&first_id, token("tok-rotate-2"))
        .expect("replace");
    write_token_file(&token_file, "tok-rotate-2");
    let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
    assert_eq!(seen, sha256_hex("tok-rotate-2"));

    // And once more through the engine that started the proxy (this process).
    engine
        .catalog()
        .replace_token(&second.id, token("tok-rotate-3"))
        .expect("replace");
    write_token_file(&token_file, "tok-rotate-3");
    let seen = client.call_tool("whoami", json!({})).await.expect("whoami");
    assert_eq!(seen, sha256_hex("tok-rotate-3"));

    proxy.stop().await;
    assert_never_logged(&["tok-rotate-1", "tok-rotate-2", "tok-rotate-3"]);
}

/// Deleted through this engine or through a second one on the same data
/// folder: the next request is refused by the proxy and never reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_credential_stops_working_at_the_next_request() {
    capture_logs();
    let upstream = Upstream::start(|_| text(StatusCode::OK, "ok")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (mut engine, vault) = engine_with(&data, "development", &url, "tok-delete-1");
    let proxy = start_proxy(
        &mut engine,
        "sesn_delete",
        vec![vault.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let call = || async {
        let request = request_to(addr, Method::POST, "/mcp", Some(&secret))
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        let status = response.status();
        (status, body_text(response).await)
    };

    assert_eq!(call().await.0, StatusCode::OK);
    let credential_id = engine.catalog().credentials(&vault.id).expect("list")[0]
        .id
        .clone();
    engine
        .catalog()
        .delete_credential(&credential_id)
        .expect("delete");
    let (status, body) = call().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("no longer hold a credential"), "{body}");
    assert_eq!(
        upstream.requests().len(),
        1,
        "the refused request stayed here"
    );

    // Added back and deleted again by another connection, as the CLI would.
    let mut cli = Engine::open(&data).expect("second engine");
    cli.keys().unlock().expect("unlock");
    let again = cli
        .catalog()
        .add_credential(
            &vault.id,
            NewCredential {
                mcp_server_url: url.clone(),
                protocol: None,
                secret: token("tok-delete-2").into(),
            },
        )
        .expect("add");
    assert_eq!(call().await.0, StatusCode::OK);
    cli.catalog().delete_credential(&again.id).expect("delete");
    assert_eq!(call().await.0, StatusCode::UNAUTHORIZED);

    let seen = upstream.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].headers[AUTHORIZATION], "Bearer tok-delete-1");
    assert_eq!(seen[1].headers[AUTHORIZATION], "Bearer tok-delete-2");
    proxy.stop().await;
    assert_never_logged(&["tok-delete-1", "tok-delete-2", &secret]);
}

/// Resolution is by (ordered vaults, URL), not by credential id: when the
/// first vault's credential goes, the second vault's takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_order_decides_and_the_next_vault_takes_over() {
    let upstream = Upstream::start(|_| text(StatusCode::OK, "ok")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, first) = engine_with(&dir.path().join("data"), "staging", &url, "tok-first");
    let second = engine
        .catalog()
        .create_vault(
            "Second",
            "staging",
            vec![NewCredential {
                mcp_server_url: url.clone(),
                protocol: None,
                secret: token("tok-second").into(),
            }],
        )
        .expect("second vault");
    let production = engine
        .catalog()
        .create_vault("Prod", "production", vec![])
        .expect("prod vault");

    let mixed = start_proxy(
        &mut engine,
        "sesn_mixed",
        vec![first.id.clone(), production.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect_err("mixed environments are refused");
    assert_eq!(mixed.code(), "mixed_environments");
    let missing = start_proxy(
        &mut engine,
        "sesn_missing",
        vec![first.id.clone()],
        vec![upstream.url("/other")],
    )
    .await
    .expect_err("no credential for that URL");
    assert_eq!(missing.code(), "no_credential");

    let proxy = start_proxy(
        &mut engine,
        "sesn_order",
        vec![first.id.clone(), second.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let call = || async {
        let request = request_to(addr, Method::GET, "/mcp", Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        send_raw(addr, request).await.expect("response").status()
    };
    assert_eq!(call().await, StatusCode::OK);
    let first_credential = engine.catalog().credentials(&first.id).expect("list")[0]
        .id
        .clone();
    engine
        .catalog()
        .delete_credential(&first_credential)
        .expect("delete");
    assert_eq!(call().await, StatusCode::OK);
    let seen = upstream.requests();
    assert_eq!(seen[0].headers[AUTHORIZATION], "Bearer tok-first");
    assert_eq!(seen[1].headers[AUTHORIZATION], "Bearer tok-second");
    proxy.stop().await;
}

/// A token rotated while a request carrying the old one was on its way (the
/// server dropped the old one before the request reached it): the agent
/// does not see the 401; the proxy looks again, finds the replacement and
/// sends the request once more with it. A 401 to a token nobody replaced
/// reaches the agent after one request, not two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_replaced_while_its_request_was_on_its_way_is_sent_again() {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // The credential to replace, once the upstream knows it; then whether
    // the first request has rotated it.
    let replace: Arc<Mutex<Option<String>>> = Arc::default();
    let rotate = Arc::clone(&replace);
    let rotated_in = data.clone();
    let upstream = Upstream::start(move |seen| {
        let bearer = seen
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if bearer == "Bearer tok-in-flight-2" {
            return text(StatusCode::OK, "fine");
        }
        // The rotation happens while this request is on its way.
        if let Some(id) = rotate.lock().expect("lock").take() {
            let mut cli = Engine::open(&rotated_in).expect("second engine");
            cli.keys().unlock().expect("unlock");
            cli.catalog()
                .replace_token(&id, token("tok-in-flight-2"))
                .expect("replace");
        }
        text(StatusCode::UNAUTHORIZED, "")
    })
    .await;
    let url = upstream.url("/mcp");
    let (mut engine, vault) = engine_with(&data, "development", &url, "tok-in-flight-1");
    let first_id = engine.catalog().credentials(&vault.id).expect("list")[0]
        .id
        .clone();
    let proxy = start_proxy(
        &mut engine,
        "sesn_in_flight",
        vec![vault.id.clone()],
        vec![url],
    )
    .await
    .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let post = || {
        request_to(addr, Method::POST, "/mcp", Some(&secret))
            .body(Full::new(Bytes::from_static(b"{\"jsonrpc\":\"2.0\"}")))
            .expect("request")
    };

    // Nobody replaced it: the 401 reaches the agent, sent once.
    let refused = send_raw(addr, post()).await.expect("response");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(upstream.seen.lock().expect("lock").len(), 1);

    // Replaced while the next request was on its way: sent again with the
    // new token, the agent gets the answer.
    *replace.lock().expect("lock") = Some(first_id);
    let answered = send_raw(addr, post()).await.expect("response");
    assert_eq!(answered.status(), StatusCode::OK);
    assert_eq!(body_text(answered).await, "fine");
    let seen = upstream.seen.lock().expect("lock");
    let sent: Vec<&str> = seen
        .iter()
        .map(|seen| {
            seen.headers
                .get(AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        sent,
        [
            "Bearer tok-in-flight-1",
            "Bearer tok-in-flight-1",
            "Bearer tok-in-flight-2"
        ]
    );
    assert_eq!(seen[1].body, seen[2].body, "the same request, sent again");
}
