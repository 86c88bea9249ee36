//! The injecting proxy against real parts: the official Python MCP SDK's
//! server (demanding the token) and client, the real keychain
//! (scripts/with-secret-service.sh), and tiny local hyper upstreams that
//! record what reached them: round trips, the session secret, Host checks, stop.
//! Nothing here asserts wall-clock timing; timeouts only turn a hang into a failure.

mod support;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use http_body_util::Full;
use serde_json::json;
use support::mcp_client::{HttpStatus, McpClient};
use support::peers::{run_client, sha256_hex, write_config, PythonServer};
use support::{
    assert_never_logged, body_text, capture_logs, engine_with, request_to, send_raw, start_proxy,
    text, write_token_file, Upstream, HANG_GUARD,
};

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
    // Alike uses within one audit window are one event with a count.
    assert!(
        uses.iter().map(|event| event.count).sum::<i64>() >= 4,
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

    let request = request_to(addr, Method::POST, "/mcp?x=1&y=2", None)
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
    assert_eq!(seen.path_and_query, "/mcp?x=1&y=2");
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
