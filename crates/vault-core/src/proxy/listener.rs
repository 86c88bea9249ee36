//! A loopback listener: accepts connections and serves each with HTTP/1.1,
//! bounded request heads, until the task is aborted, which closes the port
//! and drops every open connection with it.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::handler::{handle, Route};

/// Largest request head (request line + headers) accepted; larger ones get
/// 431 from hyper. MCP requests carry a handful of short headers.
pub(crate) const MAX_REQUEST_HEAD: usize = 64 * 1024;
const MAX_REQUEST_HEADERS: usize = 100;
/// A client must finish sending its request head within this time.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) async fn serve(listener: TcpListener, route: Arc<Route>) {
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&route)));
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
}

async fn serve_connection(stream: TcpStream, route: Arc<Route>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handle(Arc::clone(&route), request));
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
