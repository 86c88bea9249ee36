//! The benchmarks' upstream: this same binary started again as a process of
//! its own (`KEYBEARER_BENCH_ROLE=upstream`), so it shares no runtime or
//! memory figure with the proxy under test. It answers every request with
//! the response `respond` makes, or 401 when the bearer is not `token`.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub const ROLE: &str = "KEYBEARER_BENCH_ROLE";

/// A child process, ended with SIGTERM when dropped (nginx's master then
/// ends its workers; SIGKILL would orphan them).
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Starts this binary as the upstream; answers it and the port it listens on.
pub fn start() -> (Guard, u16) {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .env(ROLE, "upstream")
        .stdout(Stdio::piped())
        .spawn()
        .expect("upstream");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("port");
    (Guard(child), line.trim().parse().expect("port"))
}

/// The upstream process's body: prints its port, then serves until killed,
/// reading each request's body whole before answering.
pub fn serve<B, F>(token: &str, respond: F)
where
    F: Fn() -> Response<B> + Clone + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let expected = format!("Bearer {token}");
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let expected = expected.clone();
            let respond = respond.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let authorized = request
                        .headers()
                        .get(http::header::AUTHORIZATION)
                        .is_some_and(|value| value.as_bytes() == expected.as_bytes());
                    let respond = respond.clone();
                    async move {
                        let _ = request.into_body().collect().await;
                        let mut response = respond();
                        if !authorized {
                            *response.status_mut() = http::StatusCode::UNAUTHORIZED;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
