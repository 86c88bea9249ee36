//! A loopback listener: accepts connections and hands each to the next
//! worker thread (`workers`), which serves it with HTTP/1.1 and bounded
//! request heads. On stop (or when the session proxy is dropped) the port
//! closes and every open connection is dropped before `serve` returns.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::handler::{handle, Route};
use super::workers::Workers;

/// Largest request head (request line + headers) accepted; larger ones get
/// 431 from hyper. MCP requests carry a handful of short headers.
pub(crate) const MAX_REQUEST_HEAD: usize = 64 * 1024;
const MAX_REQUEST_HEADERS: usize = 100;
/// A client must finish sending its request head within this time.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves until `stop` fires or its sender is dropped; runs on a worker.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    route: Arc<Route>,
    workers: &'static Workers,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "proxy listener could not be registered");
            return;
        }
    };
    // Connections on every worker; dropping the set aborts them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted.and_then(|(stream, _peer)| stream.into_std()) {
                Ok(stream) => {
                    let worker = workers.next();
                    let route = Arc::clone(&route);
                    connections.spawn_on(
                        async move {
                            let _serving = workers.serving(worker);
                            match TcpStream::from_std(stream) {
                                Ok(stream) => serve_connection(stream, route, worker).await,
                                Err(error) => tracing::warn!(%error, "proxy connection could not be registered"),
                            }
                        },
                        workers.handle(worker),
                    );
                }
                Err(error) => {
                    // Typically out of file descriptors: back off, keep serving.
                    tracing::warn!(%error, "proxy listener could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    // Every open connection ends (its socket closed) before the stop returns.
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, route: Arc<Route>, worker: usize) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handle(Arc::clone(&route), worker, request));
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_header_size(MAX_REQUEST_HEAD)
        .max_headers(MAX_REQUEST_HEADERS)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(error) = served {
        tracing::debug!(%error, "proxy connection ended with an error");
    }
}
