//! "Test connection" with HTTP proxy variables set: a server on this
//! computer is reached directly, so a proxy from the environment (which
//! would see a plain-http token) gets nothing. A binary of its own: it sets
//! process-wide environment variables before anything else runs.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::StatusCode;
use keybearer_vault::{test_connection, AccessToken, ConnectionOutcome, Protocol};
use support::{text, Upstream};

#[test]
fn a_loopback_probe_never_goes_through_an_environment_proxy() {
    // Counts every connection made to it, and reads what was sent.
    let trap = TcpListener::bind("127.0.0.1:0").expect("bind");
    let trap_url = format!("http://{}", trap.local_addr().expect("addr"));
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in trap.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut stream) = stream {
                let mut sink = [0u8; 4096];
                let _ = stream.read(&mut sink);
            }
        }
    });
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        std::env::set_var(name, &trap_url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(Upstream::start(|_| text(StatusCode::UNAUTHORIZED, "no")));
    let token: keybearer_vault::CredentialSecret =
        AccessToken::new("tok-probe-env-secret".to_string())
            .expect("token")
            .into();
    for url in [
        server.url("/mcp"),
        format!("http://localhost:{}/mcp", server.addr.port()),
    ] {
        let result =
            test_connection(&url, Some(Protocol::StreamableHttp), &token).expect("probe runs");
        assert_eq!(result.outcome, ConnectionOutcome::Unauthorized, "{url}");
    }
    // https to this computer goes direct too (this server speaks plain
    // http, so the TLS handshake fails: reached, not proxied).
    let https_local = format!("https://127.0.0.1:{}/mcp", server.addr.port());
    let result =
        test_connection(&https_local, Some(Protocol::StreamableHttp), &token).expect("probe runs");
    assert_eq!(result.outcome, ConnectionOutcome::Unreachable, "{result:?}");
    assert!(
        !server.requests().is_empty(),
        "the server itself was reached"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing went to the proxy"
    );

    // The control: a server elsewhere is reached through the proxy the
    // environment names (a CONNECT tunnel: the proxy sees no token).
    let result = test_connection(
        "https://mcp.example.invalid/mcp",
        Some(Protocol::StreamableHttp),
        &token,
    )
    .expect("probe runs");
    assert_ne!(result.outcome, ConnectionOutcome::Ok);
    assert!(
        connections.load(Ordering::SeqCst) >= 1,
        "the environment's proxy is used for servers elsewhere"
    );
}
