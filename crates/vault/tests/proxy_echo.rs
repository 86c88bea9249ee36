//! Echoed secrets through the session proxy (docs/architecture.md, "Echoed
//! secrets"): a server that repeats the credential it was sent, in a tool's
//! result (the official Python SDK server's `echo_headers`, over Streamable
//! HTTP and legacy SSE, a bearer token and Basic credentials), in its
//! status line, a header's value or name, a body cut into one-byte chunks
//! or an event stream, never hands it to the agent: the agent gets covers
//! of the same length, the audit trail a `credential.echoed` without the
//! value. An answer compressed against Keybearer's request is refused.

mod support;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use keybearer_vault::{CredentialSecret, Engine, Event, NewCredential, SecretHeader, Vault};
use serde_json::json;
use support::peers::{run_client, sha256_hex, write_config, PythonServer};
use support::{
    assert_never_logged, capture_logs, engine_with, request_to, require_secret_service, send_raw,
    start_proxy, text, ChannelBody, Upstream,
};

const COVER: &str = "[redacted by Keybearer]";

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{label}{nanos:x}")
}

/// The session's events after the proxy stopped: the echoes, and a check
/// that no event holds any of `secrets`.
fn echoes(engine: &mut Engine, vault: &Vault, secrets: &[&str]) -> Vec<Event> {
    let events = engine.audit().events(Some(&vault.id), 500).expect("events");
    let all = serde_json::to_string(&events).expect("json");
    for secret in secrets {
        assert!(!all.contains(secret), "a secret in the audit trail");
    }
    events
        .into_iter()
        .filter(|event| event.kind == "credential.echoed")
        .collect()
}

/// The official client calls `echo_headers` through the proxy: the server
/// saw the real token (and said so), the agent's answer holds none of it.
async fn an_echoing_tool_through_the_proxy(transport: &str, kind: &str) {
    capture_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    // `/`, `+` and `=`: the characters JSON and URLs may write otherwise.
    let real = unique(&format!("tok/{transport}+echo="));
    let server = PythonServer::with_token(transport, &real);
    let (mut engine, vault) =
        engine_with(&dir.path().join("data"), "development", &server.url, &real);
    let proxy = start_proxy(
        &mut engine,
        format!("sesn_echo_{transport}"),
        vec![vault.id.clone()],
        vec![server.url.clone()],
    )
    .await
    .expect("proxy starts");
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let local = proxy.local_url(&server.url).expect("listener").to_string();
    let config = write_config(dir.path(), kind, &local, Some(&secret));

    let whoami = run_client(&config, "whoami").await;
    assert_eq!(whoami["result"], json!(sha256_hex(&real)), "{whoami}");
    let echoed = run_client(&config, "echo_headers").await;
    assert_eq!(echoed["ok"], json!(true), "{echoed}");
    let result = echoed["result"].as_str().expect("text");
    assert!(
        !echoed.to_string().contains(&real),
        "the agent got the token"
    );
    let headers: serde_json::Value = serde_json::from_str(result).expect("still JSON");
    let authorization = headers["authorization"].as_str().expect("echoed");
    assert!(authorization.starts_with(&format!("Bearer {COVER}")));
    assert_eq!(authorization.len(), "Bearer ".len() + real.len());

    proxy.stop().await;
    let echoes = echoes(&mut engine, &vault, &[&real, &secret]);
    assert!(!echoes.is_empty(), "the echo is in the audit trail");
    assert!(echoes.iter().all(|event| {
        event.session_id.as_deref() == Some(&*format!("sesn_echo_{transport}"))
            && event.credential_id.is_some()
            && event.detail.as_deref() == Some("body")
    }));
    assert_never_logged(&[&real, &secret]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_an_echoed_token_never_reaches_the_agent() {
    an_echoing_tool_through_the_proxy("streamable_http", "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_sse_an_echoed_token_never_reaches_the_agent() {
    an_echoing_tool_through_the_proxy("sse", "sse").await;
}

/// Basic credentials: the server echoes the header (base64) and the
/// `user:password` it decoded; the agent sees neither the base64 nor the
/// password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_credentials_echoed_plain_and_encoded_never_reach_the_agent() {
    capture_logs();
    require_secret_service();
    let dir = tempfile::tempdir().expect("tempdir");
    let password = unique("api-token-");
    let encoded = data_encoding::BASE64.encode(format!("me@example.com:{password}").as_bytes());
    let header = format!("Basic {encoded}");
    let server = PythonServer::with_headers("streamable_http", &[("Authorization", &header)]);
    let mut engine = Engine::open(&dir.path().join("data")).expect("open");
    engine
        .keys()
        .initialize(keybearer_vault::SetupProtection::Keychain)
        .expect("init");
    let basic = SecretHeader::basic("me@example.com", &password).expect("basic");
    let vault = engine
        .catalog()
        .create_vault(
            "Basic",
            "development",
            vec![NewCredential {
                mcp_server_url: server.url.clone(),
                protocol: None,
                secret: CredentialSecret::headers(vec![basic]).expect("headers"),
            }],
        )
        .expect("vault");
    let proxy = start_proxy(
        &mut engine,
        "sesn_basic",
        vec![vault.id.clone()],
        vec![server.url.clone()],
    )
    .await
    .expect("proxy");
    let secret = proxy.secret().expose_for_agent_config().to_string();
    let local = proxy.local_url(&server.url).expect("listener").to_string();
    let config = write_config(dir.path(), "http", &local, Some(&secret));
    let echoed = run_client(&config, "echo_headers").await;
    assert_eq!(echoed["ok"], json!(true), "{echoed}");
    let answer = echoed.to_string();
    assert!(
        !answer.contains(&password) && !answer.contains(&encoded),
        "{answer}"
    );
    let headers: serde_json::Value =
        serde_json::from_str(echoed["result"].as_str().expect("text")).expect("JSON");
    let decoded = headers["authorization-decoded"].as_str().expect("decoded");
    assert!(decoded.starts_with("me@example.com:[redacted"), "{decoded}");
    proxy.stop().await;
    assert!(!echoes(&mut engine, &vault, &[&password, &encoded]).is_empty());
}

/// A hand-written server that puts the token everywhere an answer can hold
/// it: the reason phrase, a header's value and name, a body sent a byte
/// per chunk, an event stream cut inside the token; and one that answers
/// compressed although asked not to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_part_of_an_answer_is_covered_however_it_is_cut() {
    capture_logs();
    // Lower case: it must also make a valid header name.
    let real = unique("tok-everywhere-");
    let echo = real.clone();
    let upstream = Upstream::start(move |seen| {
        let auth = seen.headers["authorization"]
            .to_str()
            .expect("ascii")
            .to_string();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut response = Response::new(ChannelBody(receiver).boxed());
        let body = match seen.path_and_query.as_str() {
            "/mcp?gzip" => {
                let mut response = text(StatusCode::OK, "\u{1f}\u{8b} not really gzip");
                response
                    .headers_mut()
                    .insert("content-encoding", "gzip".parse().expect("value"));
                return response;
            }
            "/mcp?sse" => {
                response
                    .headers_mut()
                    .insert("content-type", "text/event-stream".parse().expect("value"));
                format!("event: message\ndata: {{\"seen\": \"{auth}\"}}\n\n")
            }
            _ => format!("{{\"seen\": \"{auth}\", \"again\": \"{echo}\"}}"),
        };
        let headers = response.headers_mut();
        headers.insert("x-seen", auth.parse().expect("value"));
        headers.insert(
            http::HeaderName::from_bytes(format!("x-{echo}").as_bytes()).expect("name"),
            "1".parse().expect("value"),
        );
        response.extensions_mut().insert(
            hyper::ext::ReasonPhrase::try_from(format!("OK {echo}").into_bytes()).expect("reason"),
        );
        // One byte per chunk: the token is cut at every place.
        for byte in body.into_bytes() {
            let _ = sender.send(Bytes::from(vec![byte]));
        }
        response
    })
    .await;
    let url = upstream.url("/mcp");
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, vault) = engine_with(&dir.path().join("data"), "development", &url, &real);
    let proxy = start_proxy(
        &mut engine,
        "sesn_everywhere",
        vec![vault.id.clone()],
        vec![url],
    )
    .await
    .expect("proxy");
    let addr = proxy.listeners()[0].local_addr;
    let secret = proxy.secret().expose_for_agent_config().to_string();

    for path in ["/mcp", "/mcp?sse"] {
        let request = request_to(addr, Method::GET, path, Some(&secret))
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = send_raw(addr, request).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        let (parts, body) = response.into_parts();
        let reason = parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .expect("the server's own reason phrase");
        let head = format!(
            "{} {:?}",
            String::from_utf8_lossy(reason.as_bytes()),
            parts.headers
        );
        assert!(
            !head.contains(&real),
            "{path}: the token in the head: {head}"
        );
        assert!(!parts
            .headers
            .keys()
            .any(|name| name.as_str().contains(&real)));
        let seen = parts.headers["x-seen"].to_str().expect("ascii");
        assert_eq!(seen.len(), "Bearer ".len() + real.len());
        let mut chunks = 0;
        let mut body_bytes = Vec::new();
        let mut body = body;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("frame").into_data() {
                chunks += 1;
                body_bytes.extend_from_slice(&data);
            }
        }
        let body = String::from_utf8(body_bytes).expect("utf-8");
        assert!(
            !body.contains(&real),
            "{path}: the token in the body: {body}"
        );
        assert!(body.contains(COVER), "{path}: {body}");
        if path == "/mcp?sse" {
            // An event goes out whole (the endpoint check holds it till then).
            assert!(body.starts_with("event: message\ndata: {\"seen\": \"Bearer [redacted"));
            assert!(body.ends_with("\"}\n\n"), "the event is whole: {body}");
        } else {
            assert!(chunks > 20, "the answer still streams ({chunks} chunks)");
            serde_json::from_str::<serde_json::Value>(&body).expect("still JSON");
        }
    }

    let request = request_to(addr, Method::GET, "/mcp?gzip", Some(&secret))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = send_raw(addr, request).await.expect("response");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(support::body_text(response)
        .await
        .contains("compressed answer"));

    proxy.stop().await;
    let echoes = echoes(&mut engine, &vault, &[&real, &secret]);
    let places: std::collections::BTreeSet<&str> = echoes
        .iter()
        .filter_map(|event| event.detail.as_deref())
        .collect();
    assert_eq!(
        places,
        ["body", "headers", "status line"].into_iter().collect(),
        "{echoes:?}"
    );
    assert_never_logged(&[&real, &secret]);
}
