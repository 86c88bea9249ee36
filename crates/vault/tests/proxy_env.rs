//! `HTTPS_PROXY` for upstream `https://` servers. A binary of its own: it
//! sets process-wide environment variables before anything else runs.

mod support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use keybearer_proxy::SessionProxy;
use keybearer_vault::NewCredential;
use support::{body_text, engine_with, request_to, send_raw, text, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A stand-in HTTP proxy: records each request head and refuses it.
async fn refusing_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buffer[..n]),
                }
            }
            record
                .lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&head).into_owned());
            let _ = stream
                .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    (url, heads)
}

#[test]
fn https_upstreams_go_through_https_proxy_and_loopback_goes_direct() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (proxy_url, heads) = runtime.block_on(refusing_proxy());
    // Before any other thread could read the environment.
    std::env::set_var("HTTPS_PROXY", &proxy_url);
    std::env::set_var("HTTP_PROXY", &proxy_url);
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    std::env::remove_var("ALL_PROXY");
    std::env::remove_var("all_proxy");

    runtime.block_on(async {
        let remote = "https://mcp.example.invalid/mcp";
        let local_upstream = Upstream::start(|_| text(StatusCode::OK, "direct")).await;
        let local = local_upstream.url("/mcp");
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut engine, vault) = engine_with(
            &dir.path().join("data"),
            "development",
            remote,
            "tok-via-proxy",
        );
        engine
            .catalog()
            .add_credential(
                &vault.id,
                NewCredential {
                    mcp_server_url: local.clone(),
                    protocol: None,
                    secret: support::token("tok-direct").into(),
                },
            )
            .expect("second credential");
        let proxy = SessionProxy::start(
            engine.tokens().expect("tokens"),
            engine.usage_recorder().expect("recorder"),
            "sesn_env",
            vec![vault.id],
            vec![remote.to_string(), local.clone()],
        )
        .await
        .expect("proxy");
        let secret = proxy.secret().expose_for_agent_config().to_string();

        let remote_addr = proxy.listeners()[0].local_addr;
        let request = request_to(remote_addr, Method::POST, "/mcp", Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(remote_addr, request).await.expect("response");
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let body = body_text(response).await;
        assert!(body.contains("could not reach"), "{body}");

        let local_addr = proxy.listeners()[1].local_addr;
        let request = request_to(local_addr, Method::POST, "/mcp", Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(local_addr, request).await.expect("response");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "loopback is never proxied"
        );
        assert_eq!(local_upstream.requests().len(), 1);

        let heads = heads.lock().expect("lock").clone();
        assert_eq!(heads.len(), 1, "{heads:?}");
        assert!(
            heads[0].starts_with("CONNECT mcp.example.invalid:443 HTTP/1.1\r\n"),
            "{heads:?}"
        );
        assert!(
            !heads[0].contains("tok-via-proxy"),
            "the proxy sees no token"
        );
        proxy.stop().await;
    });
}
