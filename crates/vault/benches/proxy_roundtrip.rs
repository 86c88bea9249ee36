//! What the injecting proxy costs: one MCP `tools/call` round trip (the
//! `echo` tool of the official Python SDK server, streamable HTTP) made
//! directly with the real token and through the proxy with the session
//! secret, against the same server in the same run, interleaved in blocks so
//! drift hits both sides alike. Reports p50/p99 latency and requests/second
//! (one client in sequence, and several MCP sessions at once), then
//! proxy/direct ratios. A second pass against a minimal Rust upstream shows
//! the proxy's own added latency without Python's noise; a third, against
//! the same upstream closing every connection, what a new upstream
//! connection adds (connecting, and the loopback owner check:
//! docs/architecture.md, "Proxy").
//!
//!     scripts/setup-mcp-venv.sh
//!     cargo bench -p keybearer-vault --bench proxy_roundtrip
//!
//! Uses an in-memory key store, so no keychain is needed. The proxy runs
//! exactly as in a session: per-request token lookup and audit records.
#![allow(clippy::print_stdout)] // a benchmark's report is its output

#[path = "support/bench_engine.rs"]
mod bench_engine;

#[allow(dead_code)] // shared with the tests, which use more of it
#[path = "../tests/support/mcp_client.rs"]
mod mcp_client;
#[allow(dead_code)]
#[path = "../tests/support/peers.rs"]
mod peers;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_engine::bench_engine;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use keybearer_proxy::SessionProxy;
use keybearer_vault::{AccessToken, Engine, NewCredential};
use mcp_client::McpClient;
use serde_json::json;
use tokio::net::TcpListener;

const BLOCKS: usize = 10;
const CALLS_PER_BLOCK: usize = 100;
const WARM_UP: usize = 50;
const CONCURRENT_SESSIONS: usize = 4;
const CONCURRENT_CALLS: usize = 150;
const CONCURRENT_ROUNDS: usize = 4;

struct Stats {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

fn stats(mut samples: Vec<Duration>, wall: Duration) -> Stats {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        per_second: samples.len() as f64 / wall.as_secs_f64(),
    }
}

fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

async fn client(url: &str, bearer: &str) -> McpClient {
    let mut client = McpClient::new(url, bearer);
    client.initialize().await.expect("initialize");
    client
}

async fn timed_call(client: &mut McpClient) -> Duration {
    let started = Instant::now();
    let echoed = client
        .call_tool("echo", json!({"text": "ping"}))
        .await
        .expect("tools/call");
    let elapsed = started.elapsed();
    assert_eq!(echoed, "ping");
    elapsed
}

/// Sequential calls, direct and proxied interleaved block by block.
async fn sequential(direct: &mut McpClient, proxied: &mut McpClient) -> (Stats, Stats) {
    for _ in 0..WARM_UP {
        timed_call(direct).await;
        timed_call(proxied).await;
    }
    let (mut direct_samples, mut proxied_samples) = (Vec::new(), Vec::new());
    let (mut direct_wall, mut proxied_wall) = (Duration::ZERO, Duration::ZERO);
    for block in 0..BLOCKS {
        // Alternate which side goes first.
        for side in [block % 2, 1 - block % 2] {
            let (client, samples, wall) = if side == 0 {
                (&mut *direct, &mut direct_samples, &mut direct_wall)
            } else {
                (&mut *proxied, &mut proxied_samples, &mut proxied_wall)
            };
            let started = Instant::now();
            for _ in 0..CALLS_PER_BLOCK {
                samples.push(timed_call(client).await);
            }
            *wall += started.elapsed();
        }
    }
    (
        stats(direct_samples, direct_wall),
        stats(proxied_samples, proxied_wall),
    )
}

/// Several MCP sessions calling at once; returns requests per second.
async fn concurrent(url: &str, bearer: &str) -> f64 {
    let mut clients = Vec::new();
    for _ in 0..CONCURRENT_SESSIONS {
        clients.push(client(url, bearer).await);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut client in clients {
        tasks.spawn(async move {
            for _ in 0..CONCURRENT_CALLS {
                timed_call(&mut client).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("client task");
    }
    (CONCURRENT_SESSIONS * CONCURRENT_CALLS) as f64 / started.elapsed().as_secs_f64()
}

/// [`concurrent`] for both sides, alternating, [`CONCURRENT_ROUNDS`] times;
/// prints the mean requests per second of each.
async fn concurrent_pair(direct: (&str, &str), proxied: (&str, &str)) {
    let (mut direct_total, mut proxied_total) = (0.0, 0.0);
    for round in 0..CONCURRENT_ROUNDS {
        if round % 2 == 0 {
            direct_total += concurrent(direct.0, direct.1).await;
            proxied_total += concurrent(proxied.0, proxied.1).await;
        } else {
            proxied_total += concurrent(proxied.0, proxied.1).await;
            direct_total += concurrent(direct.0, direct.1).await;
        }
    }
    let rounds = CONCURRENT_ROUNDS as f64;
    let (direct_rps, proxied_rps) = (direct_total / rounds, proxied_total / rounds);
    println!(
        "  {CONCURRENT_SESSIONS} sessions at once, {CONCURRENT_CALLS} calls each, {CONCURRENT_ROUNDS} rounds: \
         direct {direct_rps:.0} req/s, proxy {proxied_rps:.0} req/s, proxy/direct {:.2}x",
        proxied_rps / direct_rps
    );
}

fn report(title: &str, direct: &Stats, proxied: &Stats) {
    println!("\n{title}");
    println!("  {:<8} {:>10} {:>10} {:>10}", "", "p50", "p99", "req/s");
    for (name, s) in [("direct", direct), ("proxy", proxied)] {
        println!(
            "  {:<8} {:>10} {:>10} {:>10.0}",
            name,
            micros(s.p50),
            micros(s.p99),
            s.per_second
        );
    }
    println!(
        "  proxy/direct: p50 {:.2}x, p99 {:.2}x, req/s {:.2}x; added p50 {}, p99 {}",
        proxied.p50.as_secs_f64() / direct.p50.as_secs_f64(),
        proxied.p99.as_secs_f64() / direct.p99.as_secs_f64(),
        proxied.per_second / direct.per_second,
        micros(proxied.p50.saturating_sub(direct.p50)),
        micros(proxied.p99.saturating_sub(direct.p99)),
    );
}

/// A minimal streamable-HTTP MCP answerer: initialize and tools/call
/// (echo), as JSON, with a session id. Checks the bearer token. Without
/// `keep_alive` it closes each connection after one answer.
async fn rust_upstream(expected_bearer: String, keep_alive: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
    let expected = Arc::new(expected_bearer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let expected = Arc::clone(&expected);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let expected = Arc::clone(&expected);
                    async move { Ok::<_, Infallible>(answer(request, &expected).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(keep_alive)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

async fn answer(request: Request<Incoming>, expected: &str) -> Response<Full<Bytes>> {
    let authorized = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|value| value.as_bytes() == format!("Bearer {expected}").as_bytes());
    let body = request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::new()));
    if !authorized {
        *response.status_mut() = http::StatusCode::UNAUTHORIZED;
        return response;
    }
    let message: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = message.get("id") else {
        *response.status_mut() = http::StatusCode::ACCEPTED;
        return response;
    };
    let result = match message["method"].as_str() {
        Some("initialize") => json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "bench", "version": "0"}
        }),
        _ => json!({
            "content": [{"type": "text", "text": message["params"]["arguments"]["text"]}],
            "isError": false
        }),
    };
    let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
    *response.body_mut() = Full::new(Bytes::from(reply.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    headers.insert("mcp-session-id", http::HeaderValue::from_static("bench"));
    response
}

async fn proxied_engine(dir: &std::path::Path, urls: &[(&str, &str)]) -> (Engine, String) {
    let mut engine = bench_engine(dir);
    let credentials = urls
        .iter()
        .map(|(url, token)| NewCredential {
            mcp_server_url: url.to_string(),
            protocol: None,
            secret: AccessToken::new(token.to_string()).expect("token").into(),
        })
        .collect();
    let vault = engine
        .catalog()
        .create_vault("Bench", "development", credentials)
        .expect("vault");
    (engine, vault.id)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = "tok-bench-0123456789abcdef";
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token).expect("token file");
        let server = peers::PythonServer::start("streamable_http", &token_file);
        let rust_url = rust_upstream(token.to_string(), true).await;
        let closing_url = rust_upstream(token.to_string(), false).await;

        let (mut engine, vault_id) = proxied_engine(
            &dir.path().join("data"),
            &[(&server.url, token), (&rust_url, token), (&closing_url, token)],
        )
        .await;
        let proxy = SessionProxy::start(
            engine.tokens().expect("tokens"),
            engine.usage_recorder().expect("recorder"),
            "sesn_bench",
            vec![vault_id],
            vec![server.url.clone(), rust_url.clone(), closing_url.clone()],
        )
        .await
        .expect("proxy");
        let secret = proxy.secret().expose_for_agent_config().to_string();
        let python_local = proxy.local_url(&server.url).expect("listener").to_string();
        let rust_local = proxy.local_url(&rust_url).expect("listener").to_string();
        let closing_local = proxy.local_url(&closing_url).expect("listener").to_string();

        println!(
            "MCP tools/call round trip, {} calls per side ({} blocks of {}, interleaved), after {} warm-up calls",
            BLOCKS * CALLS_PER_BLOCK,
            BLOCKS,
            CALLS_PER_BLOCK,
            WARM_UP
        );

        let mut direct = client(&server.url, token).await;
        let mut proxied = client(&python_local, &secret).await;
        let (d, p) = sequential(&mut direct, &mut proxied).await;
        report(
            "Python SDK server (official mcp 2.3.0, uvicorn), one client in sequence:",
            &d,
            &p,
        );
        concurrent_pair((&server.url, token), (&python_local, &secret)).await;

        let mut direct = client(&rust_url, token).await;
        let mut proxied = client(&rust_local, &secret).await;
        let (d, p) = sequential(&mut direct, &mut proxied).await;
        report(
            "Minimal Rust upstream (isolates the proxy's own cost), one client in sequence:",
            &d,
            &p,
        );
        concurrent_pair((&rust_url, token), (&rust_local, &secret)).await;

        let mut direct = client(&closing_url, token).await;
        let mut proxied = client(&closing_local, &secret).await;
        let (d, p) = sequential(&mut direct, &mut proxied).await;
        report(
            "The same upstream closing every connection (a new connection per call, direct and from the proxy, whose owner is checked):",
            &d,
            &p,
        );
        proxy.stop().await;
    });
}
