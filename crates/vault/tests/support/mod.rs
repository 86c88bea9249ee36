//! Shared by the proxy tests: an unlocked engine on a real keychain, tiny
//! hyper upstreams that record what reached them, and a raw HTTP/1.1 client
//! that sends exactly the headers a test asks for. The engine tests' helpers
//! are in `engine`; the session tests' (`world`) live with them in
//! crates/session/tests, which use `peers` from here.
#![allow(dead_code)] // each test binary uses its own part of this

pub mod engine;
pub mod known_servers;
mod logs;
pub mod mcp_client;
pub mod oauth_peer;
pub mod peers;
pub mod registry_peer;
pub mod root;
mod secret_service;

pub use logs::capture_logs;
pub use secret_service::require_secret_service;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use keybearer_proxy::SessionProxy;
use keybearer_vault::{AccessToken, Engine, NewCredential, SetupProtection, Vault};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub fn token(value: &str) -> AccessToken {
    AccessToken::new(value.to_string()).expect("valid token")
}

/// An initialised, unlocked engine with one vault holding `url` → `value`.
pub fn engine_with(dir: &Path, environment: &str, url: &str, value: &str) -> (Engine, Vault) {
    require_secret_service();
    let mut engine = Engine::open(dir).expect("open");
    engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    let vault = engine
        .catalog()
        .create_vault(
            "Proxied",
            environment,
            vec![NewCredential {
                mcp_server_url: url.to_string(),
                protocol: None,
                secret: token(value).into(),
            }],
        )
        .expect("vault");
    (engine, vault)
}

/// Turns a hang into a failure; never used to judge speed.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A session proxy over the engine's tokens part and a usage recorder:
/// what the session launcher hands it.
pub async fn start_proxy(
    engine: &mut Engine,
    session: impl Into<String>,
    vault_ids: Vec<String>,
    urls: Vec<String>,
) -> keybearer_vault::Result<SessionProxy> {
    let tokens = engine.tokens()?;
    let recorder = engine.usage_recorder()?;
    SessionProxy::start(tokens, recorder, session, vault_ids, urls).await
}

pub fn write_token_file(path: &std::path::Path, value: &str) {
    std::fs::write(path, value).expect("token file");
}

pub type TestBody = BoxBody<Bytes, Infallible>;

pub fn text(status: StatusCode, body: &str) -> Response<TestBody> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = status;
    response
}

/// What an upstream saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A local HTTP server that records every request and answers with `answer`.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start<F>(answer: F) -> Self
    where
        F: Fn(&Seen) -> Response<TestBody> + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let answer = Arc::new(answer);
        let record = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let answer = Arc::clone(&answer);
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let answer = Arc::clone(&answer);
                        let record = Arc::clone(&record);
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let seen = Seen {
                                method: parts.method,
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers,
                                body,
                            };
                            let response = answer(&seen);
                            record.lock().expect("lock").push(seen);
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response body fed from a channel: each message is sent as one chunk
/// the moment it is put in; dropping the sender ends the body.
pub struct ChannelBody(pub mpsc::UnboundedReceiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|chunk| Ok(Frame::data(chunk))))
    }
}

/// Sends `request` on a fresh connection exactly as built: no header is
/// added (not even Host), so tests control every one.
pub async fn send_raw<B>(
    addr: SocketAddr,
    request: Request<B>,
) -> std::io::Result<Response<Incoming>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)
}

/// A request to the listener at `addr` with the right Host and, if given, a bearer.
pub fn request_to(
    addr: SocketAddr,
    method: Method,
    path: &str,
    bearer: Option<&str>,
) -> http::request::Builder {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, addr.to_string());
    if let Some(bearer) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    builder
}

pub async fn body_text(response: Response<Incoming>) -> String {
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn assert_never_logged(secrets: &[&str]) {
    let logs = String::from_utf8_lossy(&capture_logs().lock().expect("log buffer")).into_owned();
    assert!(!logs.is_empty(), "the log capture works");
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret reached the log");
    }
}
