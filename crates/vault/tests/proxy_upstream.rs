//! The injecting proxy and what the upstream does: redirects returned, never
//! followed; an unreachable server; server-sent events and request bodies
//! streamed both ways, against tiny local hyper upstreams.
//! Nothing here asserts wall-clock timing; timeouts only turn a hang into a failure.

mod support;

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use support::{
    body_text, engine_with, request_to, send_raw, start_proxy, text, ChannelBody, Upstream,
    HANG_GUARD,
};
use tokio::sync::mpsc;

/// A redirect is never followed. One to another server is refused (the
/// agent would take its session secret there); one on the server's own
/// origin comes back through the proxy, and its target path is opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_returned_never_followed_and_foreign_ones_get_no_token() {
    let elsewhere = Upstream::start(|_| text(StatusCode::OK, "collected")).await;
    let foreign_target = elsewhere.url("/collect");
    let own_origin: Arc<OnceLock<String>> = Arc::default();
    let own = Arc::clone(&own_origin);
    let target = foreign_target.clone();
    let upstream = Upstream::start(move |seen| {
        let redirect = |status, location: String| {
            let mut response = text(status, "");
            response
                .headers_mut()
                .insert(LOCATION, location.parse().expect("location"));
            response
        };
        if seen.path_and_query.starts_with("/mcp?away") {
            redirect(StatusCode::FOUND, target.clone())
        } else if seen.path_and_query.starts_with("/mcp/") {
            text(StatusCode::OK, "moved here")
        } else {
            let own = own.get().expect("origin set");
            redirect(
                StatusCode::TEMPORARY_REDIRECT,
                format!("{own}/mcp/?again=1"),
            )
        }
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
    let post = |path: &str| {
        request_to(addr, Method::POST, path, Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request")
    };

    let response = send_raw(addr, post("/mcp?away=1")).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(!response.headers().contains_key(LOCATION));
    assert!(body_text(response)
        .await
        .contains("redirected to another server"));
    assert!(
        elsewhere.requests().is_empty(),
        "the proxy did not follow the redirect, so the other origin got nothing"
    );

    // Before the server sent the agent there, /mcp/ is not this session's.
    let early = send_raw(addr, post("/mcp/?again=1"))
        .await
        .expect("response");
    assert_eq!(early.status(), StatusCode::FORBIDDEN);

    let response = send_raw(addr, post("/mcp")).await.expect("response");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()[LOCATION],
        format!("http://{addr}/mcp/?again=1").as_str(),
        "a Location on the upstream's own origin leads back through the proxy"
    );
    let followed = send_raw(addr, post("/mcp/?again=1"))
        .await
        .expect("response");
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(body_text(followed).await, "moved here");
    assert_eq!(upstream.requests().len(), 3);
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
