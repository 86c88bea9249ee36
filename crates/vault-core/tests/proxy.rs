//! The injecting proxy against real parts: the official Python MCP SDK's
//! server (demanding the token) and client, the real keychain
//! (scripts/with-secret-service.sh), SQLite files shared by two engines, and
//! tiny local hyper upstreams that record what reached them.
//! Nothing here asserts wall-clock timing; timeouts only turn a hang into a failure.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, LOCATION, WWW_AUTHENTICATE};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::json;
use support::mcp_client::{HttpStatus, McpClient};
use support::peers::{run_client, sha256_hex, write_config, PythonServer};
use support::{
    assert_never_logged, body_text, capture_logs, engine_with, request_to, send_raw, text, token,
    ChannelBody, Upstream,
};
use tokio::sync::mpsc;
use vault_core::proxy::SessionProxy;
use vault_core::{Engine, NewCredential};

/// Turns a hang into a failure; never used to judge speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A session proxy over the engine's tokens part and a usage recorder:
/// what the session launcher hands it.
async fn start_proxy(
    engine: &mut Engine,
    session: impl Into<String>,
    vault_ids: Vec<String>,
    urls: Vec<String>,
) -> vault_core::Result<SessionProxy> {
    let tokens = engine.tokens()?;
    let recorder = engine.usage_recorder()?;
    SessionProxy::start(tokens, recorder, session, vault_ids, urls).await
}

fn write_token_file(path: &std::path::Path, value: &str) {
    std::fs::write(path, value).expect("token file");
}

async fn official_client_round_trip(transport: &str, kind: &str) {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let real = format!("tok-{transport}-real-1");
    let token_file = dir.path().join("accepted-token");
    write_token_file(&token_file, &real);
    let server = PythonServer::start(transport, &token_file);
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &server.url, &real);
    let session = format!("sesn_{transport}");
    let proxy = start_proxy(
        &mut engine,
        session.clone(),
        vec![vault.id.clone()],
        vec![server.url.clone()],
    )
    .await
    .expect("proxy starts");
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let local = proxy.local_url(&server.url).expect("listener").to_string();
    let upstream_path = url::Url::parse(&server.url)
        .expect("url")
        .path()
        .to_string();
    assert!(local.starts_with("http://127.0.0.1:"), "{local}");
    assert!(local.ends_with(&upstream_path), "path kept: {local}");
    assert!(!format!("{proxy:?}").contains(&secret));

    let config = write_config(dir.path(), kind, &local, Some(&secret));
    let echo = run_client(&config, "echo").await;
    assert_eq!(echo["ok"], json!(true), "{echo}");
    assert_eq!(echo["server"], json!("keybearer-test-server"));
    assert_eq!(echo["result"], json!("hello"));
    let whoami = run_client(&config, "whoami").await;
    assert_eq!(whoami["ok"], json!(true), "{whoami}");
    assert_eq!(
        whoami["result"],
        json!(sha256_hex(&real)),
        "the server saw the real token"
    );

    // The same client straight to the server: without a token, or with the
    // session secret, it is turned away.
    let bare = write_config(dir.path(), kind, &server.url, None);
    let refused = run_client(&bare, "echo").await;
    assert_eq!(refused["ok"], json!(false), "{refused}");
    assert_eq!(refused["status"], json!(401), "{refused}");
    let with_secret = write_config(dir.path(), kind, &server.url, Some(&secret));
    let refused = run_client(&with_secret, "echo").await;
    assert_eq!(refused["status"], json!(401), "{refused}");

    proxy.stop().await;
    let uses: Vec<_> = engine
        .audit()
        .events(Some(&vault.id), 200)
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == "credential.used")
        .collect();
    assert!(
        uses.len() >= 4,
        "every proxied request is audited: {uses:?}"
    );
    assert!(uses
        .iter()
        .all(|event| event.session_id.as_deref() == Some(session.as_str())));
    assert!(
        uses.iter()
            .any(|event| event.method.as_deref() == Some("POST")
                && matches!(event.status, Some(200 | 202))),
        "{uses:?}"
    );
    let credential = engine
        .catalog()
        .credentials(&vault.id)
        .expect("list")
        .remove(0);
    assert!(credential.last_used_at.is_some());
    assert_never_logged(&[&real, &secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_tool_call_through_the_proxy_carries_the_real_token() {
    official_client_round_trip("streamable_http", "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sse_tool_call_through_the_proxy_carries_the_real_token() {
    official_client_round_trip("sse", "sse").await;
}

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
                access_token: token("tok-delete-2"),
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
                access_token: token("tok-second"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_secret_is_required_checked_and_never_forwarded() {
    capture_logs();
    let upstream = Upstream::start(|_| {
        let mut response = text(StatusCode::OK, "ok");
        let headers = response.headers_mut();
        headers.insert("connection", "X-Resp-Hop".parse().expect("value"));
        headers.insert("x-resp-hop", "1".parse().expect("value"));
        headers.insert("keep-alive", "timeout=5".parse().expect("value"));
        headers.insert("mcp-session-id", "sess-from-server".parse().expect("value"));
        response
    })
    .await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(
        &dir.path().join("data"),
        "development",
        &url,
        "tok-secret-1",
    );
    let proxy = start_proxy(&mut engine, "sesn_secret", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();

    for bearer in [None, Some("wrong"), Some(&secret[..secret.len() - 1])] {
        let request = request_to(addr, Method::POST, "/mcp", bearer)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(WWW_AUTHENTICATE));
        assert!(body_text(response).await.contains("session secret"));
    }
    assert!(upstream.requests().is_empty(), "refused requests stay here");
    let activity = proxy.activity();
    let counted = activity.snapshot();
    assert_eq!(counted.len(), 1);
    assert_eq!(counted[0].requests, 3, "refused requests are counted");
    assert_eq!(counted[0].last_status, Some(401));

    let request = request_to(addr, Method::POST, "/mcp/sub?x=1&y=2", None)
        .header(AUTHORIZATION, format!("bearer {secret}"))
        .header("connection", "keep-alive, X-Hop")
        .header("x-hop", "1")
        .header("keep-alive", "timeout=5")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("te", "trailers")
        .header("mcp-session-id", "sess-from-agent")
        .header("x-custom", "kept")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(b"{\"jsonrpc\":\"2.0\"}")))
        .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["mcp-session-id"], "sess-from-server");
    assert!(!response.headers().contains_key("x-resp-hop"));
    assert!(!response.headers().contains_key("keep-alive"));

    let counted = activity.snapshot();
    assert_eq!(
        (counted[0].requests, counted[0].last_status),
        (4, Some(200))
    );
    assert_eq!(counted[0].local_url, format!("http://{addr}/mcp"));

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.path_and_query, "/mcp/sub?x=1&y=2");
    assert_eq!(seen.body, Bytes::from_static(b"{\"jsonrpc\":\"2.0\"}"));
    assert_eq!(seen.headers[HOST], upstream.addr.to_string());
    assert_eq!(seen.headers.get_all(AUTHORIZATION).iter().count(), 1);
    assert_eq!(seen.headers[AUTHORIZATION], "Bearer tok-secret-1");
    assert_eq!(seen.headers["mcp-session-id"], "sess-from-agent");
    assert_eq!(seen.headers["x-custom"], "kept");
    for hop in ["x-hop", "keep-alive", "proxy-authorization", "te"] {
        assert!(!seen.headers.contains_key(hop), "{hop} was forwarded");
    }
    for value in seen.headers.values() {
        assert!(
            !String::from_utf8_lossy(value.as_bytes()).contains(&secret),
            "the session secret was forwarded"
        );
    }
    proxy.stop().await;
    assert_never_logged(&["tok-secret-1", &secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_hosts_and_oversized_heads_are_refused() {
    let upstream = Upstream::start(|_| text(StatusCode::OK, "ok")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &url, "tok-host");
    let proxy = start_proxy(&mut engine, "sesn_host", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();

    // DNS rebinding: a page on evil.example resolved to 127.0.0.1.
    for host in [
        format!("evil.example:{}", addr.port()),
        "127.0.0.1".to_string(),
        upstream.addr.to_string(),
    ] {
        let request = http::Request::post("/mcp")
            .header(HOST, host)
            .header(AUTHORIZATION, format!("Bearer {secret}"))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let localhost = http::Request::get("/mcp")
        .header(HOST, format!("localhost:{}", addr.port()))
        .header(AUTHORIZATION, format!("Bearer {secret}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    assert_eq!(
        send_raw(addr, localhost).await.expect("response").status(),
        StatusCode::OK
    );

    let huge = request_to(addr, Method::GET, "/mcp", Some(&secret))
        .header("x-filler", "a".repeat(100 * 1024))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = send_raw(addr, huge).await.expect("response");
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(
        upstream.requests().len(),
        1,
        "only the localhost request went up"
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_returned_never_followed_and_foreign_ones_get_no_token() {
    let elsewhere = Upstream::start(|_| text(StatusCode::OK, "collected")).await;
    let foreign_target = elsewhere.url("/collect");
    let own_origin: Arc<OnceLock<String>> = Arc::default();
    let own = Arc::clone(&own_origin);
    let target = foreign_target.clone();
    let upstream = Upstream::start(move |seen| {
        let (status, location) = if seen.path_and_query.starts_with("/away") {
            (StatusCode::FOUND, target.clone())
        } else {
            let own = own.get().expect("origin set");
            (
                StatusCode::TEMPORARY_REDIRECT,
                format!("{own}/mcp/?again=1"),
            )
        };
        let mut response = text(status, "");
        response
            .headers_mut()
            .insert(LOCATION, location.parse().expect("location"));
        response
    })
    .await;
    own_origin
        .set(format!("http://{}", upstream.addr))
        .expect("once");
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(
        &dir.path().join("data"),
        "development",
        &url,
        "tok-redirect",
    );
    let proxy = start_proxy(&mut engine, "sesn_redirect", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();

    let away = request_to(addr, Method::POST, "/away", Some(&secret))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = send_raw(addr, away).await.expect("response");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[LOCATION], foreign_target.as_str());
    assert!(
        elsewhere.requests().is_empty(),
        "the proxy did not follow the redirect, so the other origin got nothing"
    );

    let same = request_to(addr, Method::POST, "/mcp", Some(&secret))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = send_raw(addr, same).await.expect("response");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()[LOCATION],
        format!("http://{addr}/mcp/?again=1").as_str(),
        "a Location on the upstream's own origin leads back through the proxy"
    );
    assert_eq!(upstream.requests().len(), 2);
    assert!(elsewhere.requests().is_empty());
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_readable_502() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let url = format!("http://{}/mcp", closed.local_addr().expect("addr"));
    drop(closed);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &url, "tok-down");
    let proxy = start_proxy(
        &mut engine,
        "sesn_down",
        vec![vault.id.clone()],
        vec![url.clone()],
    )
    .await
    .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let request = request_to(
        addr,
        Method::POST,
        "/mcp",
        Some(proxy.secret().expose_for_agent_config()),
    )
    .body(Full::new(Bytes::new()))
    .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/plain"));
    let body = body_text(response).await;
    assert!(body.contains("could not reach the MCP server"), "{body}");
    assert!(body.contains(&url), "{body}");
    assert!(body.to_lowercase().contains("refused"), "{body}");

    proxy.stop().await;
    let failed = engine
        .audit()
        .events(Some(&vault.id), 10)
        .expect("events")
        .into_iter()
        .find(|event| event.kind == "credential.used")
        .expect("the attempt is audited");
    assert_eq!(failed.status, None);
    assert_eq!(
        failed.detail.as_deref(),
        Some("no response from the server")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_proxy_refuses_connections() {
    let upstream = Upstream::start(|_| text(StatusCode::OK, "ok")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &url, "tok-stop");
    let proxy = start_proxy(&mut engine, "sesn_stop", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    // An agent connection that stays open across the stop.
    let open = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = request_to(addr, Method::GET, "/mcp", Some(&secret))
        .body(Full::new(Bytes::new()))
        .expect("request");
    assert_eq!(
        send_raw(addr, request).await.expect("response").status(),
        StatusCode::OK
    );

    proxy.stop().await;
    let refused = tokio::net::TcpStream::connect(addr)
        .await
        .expect_err("nothing listens any more");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // The connection that was open is closed too.
    let mut open = open;
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(
        HANG_GUARD,
        tokio::io::AsyncReadExt::read(&mut open, &mut byte),
    )
    .await
    .expect("closed, not hanging");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// A server-sent event must reach the agent while the upstream still holds
/// the stream open: the upstream only closes after the test saw the event.
/// Also: an absolute `endpoint` URL on the upstream origin is rewritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_events_arrive_while_the_stream_is_still_open() {
    let (chunks, receiver) = mpsc::unbounded_channel::<Bytes>();
    let slot = Arc::new(Mutex::new(Some(receiver)));
    let upstream = Upstream::start(move |_| {
        let receiver = slot.lock().expect("slot").take().expect("one stream");
        let mut response = Response::new(ChannelBody(receiver).boxed());
        response.headers_mut().insert(
            CONTENT_TYPE,
            "text/event-stream; charset=utf-8".parse().expect("value"),
        );
        response
    })
    .await;
    let url = upstream.url("/sse");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, "tok-sse");
    let proxy = start_proxy(&mut engine, "sesn_sse", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;

    chunks
        .send(Bytes::from(format!(
            "event: endpoint\r\ndata: http://{}/messages/?session_id=s1\r\n\r\n",
            upstream.addr
        )))
        .expect("upstream stream open");
    let request = request_to(
        addr,
        Method::GET,
        "/sse",
        Some(proxy.secret().expose_for_agent_config()),
    )
    .body(Full::new(Bytes::new()))
    .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();

    let mut received = String::new();
    while !received.ends_with("\r\n\r\n") {
        let chunk = next_chunk(&mut body).await.expect("stream still open");
        received.push_str(std::str::from_utf8(&chunk).expect("utf8"));
    }
    assert_eq!(
        received,
        format!("event: endpoint\r\ndata: http://{addr}/messages/?session_id=s1\r\n\r\n"),
        "the absolute endpoint now names the listener"
    );
    // Only now does the upstream send the next event and close.
    assert!(!chunks.is_closed());
    chunks
        .send(Bytes::from_static(b"event: message\ndata: {\"n\":2}\n\n"))
        .expect("upstream stream open");
    let mut rest = String::new();
    while !rest.ends_with("\n\n") {
        let chunk = next_chunk(&mut body).await.expect("second event");
        rest.push_str(std::str::from_utf8(&chunk).expect("utf8"));
    }
    assert_eq!(rest, "event: message\ndata: {\"n\":2}\n\n");
    drop(chunks);
    assert!(
        next_chunk(&mut body).await.is_none(),
        "the stream ends when the upstream closes"
    );
    proxy.stop().await;
}

/// Request bodies stream too: the upstream receives the first chunk while
/// the agent still holds the rest back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_reach_the_upstream_as_they_are_sent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream_addr = listener.local_addr().expect("addr");
    let (arrived, mut arrivals) = mpsc::unbounded_channel::<Bytes>();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let service =
            hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let arrived = arrived.clone();
                async move {
                    let mut body = request.into_body();
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.expect("frame").into_data() {
                            arrived.send(data).expect("test listens");
                        }
                    }
                    Ok::<_, std::convert::Infallible>(text(StatusCode::OK, "done"))
                }
            });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .await;
    });
    let url = format!("http://{upstream_addr}/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &url, "tok-upload");
    let proxy = start_proxy(&mut engine, "sesn_upload", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let (chunks, receiver) = mpsc::unbounded_channel::<Bytes>();
    let request = request_to(
        addr,
        Method::POST,
        "/mcp",
        Some(proxy.secret().expose_for_agent_config()),
    )
    .body(ChannelBody(receiver))
    .expect("request");
    let response = tokio::spawn(send_raw(addr, request));

    chunks
        .send(Bytes::from_static(b"first part;"))
        .expect("body open");
    let mut received = Vec::new();
    while received != b"first part;" {
        let chunk = tokio::time::timeout(HANG_GUARD, arrivals.recv())
            .await
            .expect("the first chunk was not forwarded while the agent held the rest")
            .expect("chunk");
        received.extend_from_slice(&chunk);
    }
    chunks
        .send(Bytes::from_static(b"second part"))
        .expect("body open");
    drop(chunks);
    let response = tokio::time::timeout(HANG_GUARD, response)
        .await
        .expect("answered")
        .expect("task")
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    while let Ok(chunk) = arrivals.try_recv() {
        received.extend_from_slice(&chunk);
    }
    assert_eq!(received, b"first part;second part");
    proxy.stop().await;
}

/// The next data chunk of `body`, or `None` at its end.
async fn next_chunk(body: &mut hyper::body::Incoming) -> Option<Bytes> {
    tokio::time::timeout(HANG_GUARD, body.frame())
        .await
        .expect("the event was not delivered while the upstream held the stream open")
        .map(|frame| frame.expect("frame").into_data().expect("data"))
}

/// The official client's failure for a refused session secret is a 401 from the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_client_with_a_wrong_secret_gets_401() {
    let upstream = Upstream::start(|_| text(StatusCode::OK, "{}")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &url, "tok-wrong");
    let proxy = start_proxy(&mut engine, "sesn_wrong", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let local = proxy.listeners()[0].local_url.clone();
    for bearer in [Some("avs_not-the-secret"), None] {
        let config = write_config(dir.path(), "http", &local, bearer);
        let result = run_client(&config, "echo").await;
        assert_eq!(result["ok"], json!(false), "{result}");
        assert_eq!(result["status"], json!(401), "{result}");
    }
    let mut client = McpClient::new(&local, "avs_not-the-secret");
    let error = client.initialize().await.expect_err("refused");
    let status = error.downcast_ref::<HttpStatus>().expect("an HTTP status");
    assert_eq!(status.0, StatusCode::UNAUTHORIZED);
    assert!(upstream.requests().is_empty());
    proxy.stop().await;
}
