//! What the proxy lets through to the upstream, tried as a hostile agent
//! would: methods MCP does not use, other paths of the same server, paths
//! that read two ways, an SSE `endpoint` on another server or on another
//! tenant's path of the same one; and a flood of refused requests that must
//! not flood the log. The upstream records what it received, so "no token"
//! is what the server saw, not what we assume.

mod support;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, StatusCode};
use http_body_util::Full;
use support::{
    body_text, capture_logs, engine_with, request_to, send_raw, start_proxy, text, Upstream,
};

const TOKEN: &str = "tok-rules-real";

fn tokens_seen(upstream: &Upstream) -> Vec<(String, String)> {
    upstream
        .requests()
        .into_iter()
        .filter(|seen| {
            seen.headers
                .get(AUTHORIZATION)
                .is_some_and(|value| value.as_bytes().ends_with(TOKEN.as_bytes()))
        })
        .map(|seen| (seen.method.to_string(), seen.path_and_query))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_mcp_methods_and_the_credential_path_get_the_token() {
    let upstream = Upstream::start(|seen| {
        // A reflecting endpoint: echoes the request's headers, as a debug
        // route on a real server might.
        let echoed: Vec<String> = seen
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("?")))
            .collect();
        text(StatusCode::OK, &echoed.join("\n"))
    })
    .await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, TOKEN);
    let proxy = start_proxy(&mut engine, "sesn_rules", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let send = |method: Method, path: &str| {
        let request = request_to(addr, method, path, Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        send_raw(addr, request)
    };

    for method in ["TRACE", "PUT", "PATCH", "OPTIONS", "HEAD"] {
        let response = send(
            Method::from_bytes(method.as_bytes()).expect("method"),
            "/mcp",
        )
        .await
        .expect("response");
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()["allow"], "GET, POST, DELETE");
    }

    for path in [
        "/echo/elsewhere",
        "/mcp/",
        "/mcp/../echo",
        "/x/../mcp",
        "/%2e%2e/mcp",
        "/mcp%2f..%2fecho",
        "/MCP",
    ] {
        let response = send(Method::POST, path).await.expect("response");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = body_text(response).await;
        assert!(!body.contains(TOKEN), "{path}");
        assert!(
            body.contains("/mcp"),
            "the refusal names the endpoint: {body}"
        );
    }
    assert!(
        upstream.requests().is_empty(),
        "nothing refused reached the server"
    );

    // The credential's own endpoint works, with a query, for each MCP method.
    for method in [Method::POST, Method::GET, Method::DELETE] {
        let response = send(method.clone(), "/mcp?x=1").await.expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        // The server got the token (below); its reflection of it is
        // covered before the agent reads it (docs/architecture.md, "Echoed
        // secrets").
        let body = body_text(response).await;
        assert!(!body.contains(TOKEN), "{method}: {body}");
        assert!(body.contains("authorization: Bearer [redacted"), "{body}");
    }
    assert_eq!(
        tokens_seen(&upstream),
        vec![
            ("POST".to_string(), "/mcp?x=1".to_string()),
            ("GET".to_string(), "/mcp?x=1".to_string()),
            ("DELETE".to_string(), "/mcp?x=1".to_string()),
        ]
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_endpoint_on_the_server_opens_its_path_and_one_elsewhere_ends_the_stream() {
    let upstream = Upstream::start(|seen| {
        let event = if seen.path_and_query.starts_with("/sse?foreign") {
            "event: endpoint\ndata: http://collector.invalid/messages/?s=1\n\n"
        } else if seen.path_and_query.starts_with("/sse") {
            "event: endpoint\ndata: /messages/?session_id=abc\n\n"
        } else {
            ""
        };
        let mut response = text(StatusCode::OK, event);
        if !event.is_empty() {
            response.headers_mut().insert(
                CONTENT_TYPE,
                "text/event-stream".parse().expect("content type"),
            );
        }
        response
    })
    .await;
    let url = upstream.url("/sse");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, TOKEN);
    let proxy = start_proxy(&mut engine, "sesn_sse_rules", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let send = |method: Method, path: &str| {
        let request = request_to(addr, method, path, Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        send_raw(addr, request)
    };

    // Before the server announced it, the message path is closed.
    let early = send(Method::POST, "/messages/?session_id=abc")
        .await
        .expect("response");
    assert_eq!(early.status(), StatusCode::FORBIDDEN);

    let stream = send(Method::GET, "/sse").await.expect("response");
    assert_eq!(stream.status(), StatusCode::OK);
    let events = body_text(stream).await;
    assert!(
        events.contains("data: /messages/?session_id=abc"),
        "{events}"
    );
    let post = send(Method::POST, "/messages/?session_id=abc")
        .await
        .expect("response");
    assert_eq!(
        post.status(),
        StatusCode::OK,
        "the announced path is open now"
    );

    let foreign = send(Method::GET, "/sse?foreign=1").await.expect("response");
    let events = body_text(foreign).await;
    assert!(!events.contains("collector.invalid"), "{events}");
    assert!(!events.contains("event: endpoint"), "{events}");
    assert!(
        events.contains("refused an endpoint on another server"),
        "{events}"
    );

    assert_eq!(
        tokens_seen(&upstream),
        vec![
            ("GET".to_string(), "/sse".to_string()),
            ("POST".to_string(), "/messages/?session_id=abc".to_string()),
            ("GET".to_string(), "/sse?foreign=1".to_string()),
        ]
    );
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_refused_requests_write_a_bounded_log() {
    let logs = capture_logs();
    let upstream = Upstream::start(|_| text(StatusCode::OK, "ok")).await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, TOKEN);
    let session = "sesn_flood_7f3a";
    let proxy = start_proxy(&mut engine, session, vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let lines_about = |logs: &[u8]| {
        String::from_utf8_lossy(logs)
            .lines()
            .filter(|line| line.contains(session) && line.contains("refused"))
            .count()
    };
    let before = lines_about(&logs.lock().expect("logs"));
    for n in 0..1000 {
        let bearer = format!("wrong-{n}");
        let request = request_to(addr, Method::POST, "/mcp", Some(&bearer))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let after = lines_about(&logs.lock().expect("logs"));
    assert!(after > before, "refusals are logged");
    assert!(
        after - before <= 4,
        "1,000 refusals wrote {} log lines",
        after - before
    );
    assert!(upstream.requests().is_empty());
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_stay_here_and_a_compressed_event_stream_is_refused() {
    let upstream = Upstream::start(|seen| {
        let mut response = text(StatusCode::OK, "event: endpoint\ndata: /m\n\n");
        if seen.path_and_query.contains("gzip") {
            response.headers_mut().insert(
                CONTENT_TYPE,
                "text/event-stream".parse().expect("content type"),
            );
            response.headers_mut().insert(
                http::header::CONTENT_ENCODING,
                "GZIP".parse().expect("encoding"),
            );
        }
        response
    })
    .await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, TOKEN);
    let proxy = start_proxy(&mut engine, "sesn_encoding", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();

    let request = request_to(addr, Method::GET, "/mcp?plain", Some(&secret))
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "host=evil.example")
        .header("accept-encoding", "gzip, br")
        .body(Full::new(Bytes::new()))
        .expect("request");
    assert_eq!(
        send_raw(addr, request).await.expect("response").status(),
        StatusCode::OK
    );
    let seen = upstream.requests().remove(0);
    assert!(!seen.headers.contains_key("x-forwarded-host"));
    assert!(!seen.headers.contains_key("forwarded"));
    assert_eq!(seen.headers["accept-encoding"], "identity");

    let request = request_to(addr, Method::GET, "/mcp?gzip", Some(&secret))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(body_text(response).await.contains("compressed answer"));
    proxy.stop().await;
}

/// A shared host: the credential is for `/tenant-a/sse`, and the stream
/// names another tenant's path of the same origin as its message endpoint.
/// The proxy judges it by the rule the bridge and the connection test share
/// (`reach::check`): the event never completes, the stream ends, and that
/// path stays closed; so do paths that only look like the folder's to the
/// proxy but reach the neighbour on the server (a `;` path parameter, which
/// Tomcat, Jetty and Spring strip before routing; a double-encoded dot).
/// One in the credential's folder opens as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_endpoint_on_another_tenants_path_ends_the_stream_and_stays_closed() {
    let upstream = Upstream::start(|seen| {
        let moved = [
            ("/tenant-a/sse?moved", "/tenant-b/sse"),
            (
                "/tenant-a/sse?parameter-moved",
                "/tenant-a/..;/tenant-b/sse",
            ),
            (
                "/tenant-a/sse?encoded-moved",
                "/tenant-a/%252e%252e/tenant-b/sse",
            ),
        ];
        if let Some((_, location)) = moved
            .iter()
            .find(|(path, _)| seen.path_and_query.starts_with(path))
        {
            let mut response = text(StatusCode::TEMPORARY_REDIRECT, "");
            response
                .headers_mut()
                .insert(http::header::LOCATION, location.parse().expect("location"));
            return response;
        }
        let event = if seen.path_and_query.starts_with("/tenant-a/sse?neighbour") {
            "event: endpoint\ndata: /tenant-b/messages/?session_id=abc\n\n"
        } else if seen.path_and_query.starts_with("/tenant-a/sse?parameter") {
            "event: endpoint\ndata: /tenant-a/..;/tenant-b/messages/?session_id=abc\n\n"
        } else if seen.path_and_query.starts_with("/tenant-a/sse?encoded") {
            "event: endpoint\ndata: /tenant-a/%252e%252e/tenant-b/messages/?session_id=abc\n\n"
        } else if seen.path_and_query.starts_with("/tenant-a/sse") {
            "event: endpoint\ndata: /tenant-a/messages/?session_id=abc\n\n"
        } else {
            ""
        };
        let mut response = text(StatusCode::OK, event);
        if !event.is_empty() {
            response.headers_mut().insert(
                CONTENT_TYPE,
                "text/event-stream".parse().expect("content type"),
            );
        }
        response
    })
    .await;
    let url = upstream.url("/tenant-a/sse");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, TOKEN);
    let proxy = start_proxy(&mut engine, "sesn_tenants", vec![vault.id], vec![url])
        .await
        .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let send = |method: Method, path: &str| {
        let request = request_to(addr, method, path, Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        send_raw(addr, request)
    };

    let neighbour = send(Method::GET, "/tenant-a/sse?neighbour=1")
        .await
        .expect("response");
    let events = body_text(neighbour).await;
    assert!(!events.contains("tenant-b"), "{events}");
    assert!(!events.contains("event: endpoint"), "{events}");
    assert!(events.contains("refused an endpoint"), "{events}");
    let post = send(Method::POST, "/tenant-b/messages/?session_id=abc")
        .await
        .expect("response");
    assert_eq!(
        post.status(),
        StatusCode::FORBIDDEN,
        "the neighbour's path stays closed"
    );
    // A redirect there is refused alike, by the same rule.
    let moved = send(Method::GET, "/tenant-a/sse?moved=1")
        .await
        .expect("response");
    assert_eq!(moved.status(), StatusCode::BAD_GATEWAY);
    let body = body_text(moved).await;
    assert!(
        body.contains("redirected to /tenant-b/sse, outside /tenant-a/"),
        "{body}"
    );
    // Paths in the folder to the proxy, the neighbour's to a Java server.
    for (kind, path) in [
        (
            "parameter",
            "/tenant-a/..;/tenant-b/messages/?session_id=abc",
        ),
        (
            "encoded",
            "/tenant-a/%252e%252e/tenant-b/messages/?session_id=abc",
        ),
    ] {
        let stream = send(Method::GET, &format!("/tenant-a/sse?{kind}=1"))
            .await
            .expect("response");
        let events = body_text(stream).await;
        assert!(!events.contains("event: endpoint"), "{kind}: {events}");
        assert!(events.contains("refused an endpoint"), "{kind}: {events}");
        let post = send(Method::POST, path).await.expect("response");
        assert_eq!(post.status(), StatusCode::FORBIDDEN, "{path} stays closed");
        let moved = send(Method::GET, &format!("/tenant-a/sse?{kind}-moved=1"))
            .await
            .expect("response");
        assert_eq!(moved.status(), StatusCode::BAD_GATEWAY, "{kind}");
        let body = body_text(moved).await;
        assert!(body.contains("can be read two ways"), "{kind}: {body}");
    }

    let own = send(Method::GET, "/tenant-a/sse").await.expect("response");
    assert!(body_text(own)
        .await
        .contains("data: /tenant-a/messages/?session_id=abc"));
    let post = send(Method::POST, "/tenant-a/messages/?session_id=abc")
        .await
        .expect("response");
    assert_eq!(
        post.status(),
        StatusCode::OK,
        "the credential's folder opens"
    );

    assert_eq!(
        tokens_seen(&upstream),
        vec![
            ("GET".to_string(), "/tenant-a/sse?neighbour=1".to_string()),
            ("GET".to_string(), "/tenant-a/sse?moved=1".to_string()),
            ("GET".to_string(), "/tenant-a/sse?parameter=1".to_string()),
            (
                "GET".to_string(),
                "/tenant-a/sse?parameter-moved=1".to_string()
            ),
            ("GET".to_string(), "/tenant-a/sse?encoded=1".to_string()),
            (
                "GET".to_string(),
                "/tenant-a/sse?encoded-moved=1".to_string()
            ),
            ("GET".to_string(), "/tenant-a/sse".to_string()),
            (
                "POST".to_string(),
                "/tenant-a/messages/?session_id=abc".to_string()
            ),
        ]
    );
    proxy.stop().await;
}
