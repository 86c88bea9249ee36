//! A listener's kept-alive connections to its upstream (docs/architecture.md,
//! "Proxy"), HTTP/1.1 on hyper's own client connections, one idle list per
//! worker thread: a connection's task runs on the worker that opened it and
//! only that worker's requests use it, so nothing is shared between threads
//! on the request path but an uncontended lock.
//!
//! A request takes the newest idle connection of its worker (or opens one
//! through [`Connector`]: TCP or a proxy's tunnel, TLS, the loopback owner
//! check, the connect deadline) and sends in origin form. The connection
//! comes back when the answer's body has been read to its end — when the
//! agent dropped it halfway, hyper closes the connection instead. A kept
//! connection that is not ready when taken (the server closed it, or it is
//! still sending a request body the server answered early) is let go, not
//! waited for; if a request could not be sent on a kept connection after
//! all, it goes out once more on a new one (it was not sent, so nothing is
//! repeated).
//!
//! Limits: at most [`MAX_IDLE`] idle connections per worker are kept (more
//! are closed when they come back); an idle connection unused for
//! [`IDLE_LIMIT`] is closed when next looked at, not on a timer.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use tower_service::Service;

use super::replay::RequestBody;
use keybearer_net::upstream::{Connector, MAX_RESPONSE_HEAD};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Idle connections kept per worker.
const MAX_IDLE: usize = 256;
/// An idle connection older than this is closed rather than used (servers
/// commonly drop idle connections after a minute or so).
const IDLE_LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct UpstreamPool {
    connector: Connector,
    /// The credential's origin: where every connection goes.
    origin: Uri,
    idle: Box<[Mutex<Vec<Idle>>]>,
}

struct Idle {
    sender: SendRequest<RequestBody>,
    since: Instant,
}

impl UpstreamPool {
    pub(crate) fn new(connector: Connector, origin: Uri, workers: usize) -> Self {
        Self {
            connector,
            origin,
            idle: (0..workers.max(1))
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
        }
    }

    /// Sends `request` (origin form: its URI is the path and query) on a
    /// kept connection of worker `worker`, or a new one. Must run on that
    /// worker.
    pub(crate) async fn send(
        self: &Arc<Self>,
        worker: usize,
        mut request: Request<RequestBody>,
    ) -> Result<Response<PooledBody>, BoxError> {
        let worker = worker % self.idle.len();
        loop {
            let (mut sender, kept) = match self.kept(worker) {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(request).await {
                Ok(response) => {
                    let back = CheckIn {
                        pool: Arc::clone(self),
                        worker,
                        sender,
                    };
                    return Ok(response.map(|body| PooledBody {
                        body,
                        back: Some(back),
                    }));
                }
                Err(mut error) => match error.take_message() {
                    // Not sent: the kept connection was closed under it.
                    Some(unsent) if kept => request = unsent,
                    _ => return Err(error.into_error().into()),
                },
            }
        }
    }

    /// The newest idle connection of `worker` that is ready now. One that
    /// is not (closed, or still sending the body of a request the server
    /// answered early, which a stalled agent could make last) is dropped
    /// rather than waited for: it closes once its exchange is over, and no
    /// request waits on another agent's upload.
    fn kept(&self, worker: usize) -> Option<SendRequest<RequestBody>> {
        loop {
            let Idle { sender, since } = self.idle(worker).pop()?;
            if sender.is_ready() && since.elapsed() <= IDLE_LIMIT {
                return Some(sender);
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<RequestBody>, BoxError> {
        let mut connector = self.connector.clone();
        poll_fn(|cx| connector.poll_ready(cx)).await?;
        let io = connector.call(self.origin.clone()).await?;
        let (sender, connection) = http1::Builder::new()
            .max_buf_size(MAX_RESPONSE_HEAD)
            .handshake(io)
            .await?;
        // Driven on this worker; ends when the server or the last sender
        // closes it.
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    fn idle(&self, worker: usize) -> MutexGuard<'_, Vec<Idle>> {
        self.idle[worker]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Gives a connection back to its worker's idle list.
struct CheckIn {
    pool: Arc<UpstreamPool>,
    worker: usize,
    sender: SendRequest<RequestBody>,
}

impl CheckIn {
    fn give_back(self) {
        if self.sender.is_closed() {
            return;
        }
        let mut idle = self.pool.idle(self.worker);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                sender: self.sender,
                since: Instant::now(),
            });
        }
    }
}

/// An upstream answer's body; its connection goes back to the pool once the
/// body has been read to its end (not when it is dropped halfway).
pub(crate) struct PooledBody {
    body: Incoming,
    back: Option<CheckIn>,
}

impl PooledBody {
    fn finished(&mut self) {
        if let Some(back) = self.back.take() {
            back.give_back();
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        // The end, or the last frame of a body of known length (hyper may
        // not ask again): the connection can serve the next request.
        if matches!(polled, Poll::Ready(None)) || this.body.is_end_stream() {
            this.finished();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // Dropped after its last frame (an empty body is never polled):
        // still reusable. Dropped halfway: hyper closes the connection.
        if self.body.is_end_stream() {
            self.finished();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::{BodyExt, Either, Full};
    use hyper::server::conn::http1 as server;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    use super::*;

    /// A real HTTP/1.1 server on loopback that counts the connections it
    /// accepted; `close` answers with `Connection: close`.
    async fn server(close: bool) -> (Uri, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin: Uri = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = service_fn(move |_request: Request<Incoming>| async move {
                        let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                        if close {
                            response.headers_mut().insert(
                                http::header::CONNECTION,
                                http::HeaderValue::from_static("close"),
                            );
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    });
                    let _ = server::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (origin, accepted)
    }

    fn request(origin: &Uri) -> Request<RequestBody> {
        let mut request = Request::new(Either::Right(Full::new(Bytes::new())));
        *request.uri_mut() = "/mcp".parse().unwrap();
        request.headers_mut().insert(
            http::header::HOST,
            http::HeaderValue::from_str(origin.authority().unwrap().as_str()).unwrap(),
        );
        request
    }

    /// A pool of one worker for `origin`, through the product's connector.
    fn pool(origin: &Uri) -> Arc<UpstreamPool> {
        Arc::new(UpstreamPool::new(
            keybearer_net::upstream::connector().unwrap(),
            origin.clone(),
            1,
        ))
    }

    async fn read_whole(pool: &Arc<UpstreamPool>, origin: &Uri) -> Bytes {
        let response = pool.send(0, request(origin)).await.expect("answered");
        assert_eq!(response.status(), 200);
        response.into_body().collect().await.unwrap().to_bytes()
    }

    #[tokio::test]
    async fn answers_read_to_their_end_give_their_connection_back() {
        let (origin, accepted) = server(false).await;
        let pool = pool(&origin);
        for _ in 0..5 {
            assert_eq!(read_whole(&pool, &origin).await, "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one connection, kept");

        // An answer dropped before its end does not give a connection back
        // that still has a body in flight: the next request opens another.
        let response = pool.send(0, request(&origin)).await.unwrap();
        let body = response.into_body();
        assert!(body.back.is_some());
        drop(body);
        assert_eq!(read_whole(&pool, &origin).await, "ok");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_server_closes_is_not_used_again() {
        let (origin, accepted) = server(true).await;
        let pool = pool(&origin);
        for _ in 0..3 {
            assert_eq!(read_whole(&pool, &origin).await, "ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_while_idle_is_let_go() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Answers one request per connection, keep-alive by its words, then
        // closes the connection and says so.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin: Uri = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let (closed, mut closes) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    let mut byte = [0; 1];
                    if stream.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
                drop(stream);
                closed.send(()).unwrap();
            }
        });
        let pool = pool(&origin);
        assert_eq!(read_whole(&pool, &origin).await, "ok");
        closes.recv().await.unwrap();
        // Let the runtime's reactor see the close, as an idle worker would.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(read_whole(&pool, &origin).await, "ok");
        closes.recv().await.unwrap();
    }
}
