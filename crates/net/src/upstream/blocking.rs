//! The upstream client for callers that wait for one answer: Test
//! connection (`probe`) and OAuth sign-in, refresh and revocation. Same
//! connector, TLS roots and rules as the proxy's and the bridge's (the
//! parent module): one HTTP/TLS stack, redirects never followed, plain
//! `http://` only to this computer and straight there (never through an
//! environment proxy), the owner of a loopback server's end checked
//! (`loopback`) before anything is written.
//!
//! Each client drives its own single-threaded runtime, so a call blocks the
//! calling thread until the answer (or `timeout`) — call it from a plain or
//! a blocking thread, never from inside an async task. The deadline covers
//! the whole request: connecting, the answer's head and every body read.
//!
//! Limits: request bodies given as [`Zeroizing`] buffers are wiped when
//! hyper drops them; hyper's own read buffers are not (the same limit as
//! the proxy's, docs/architecture.md "A token's path").

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use tokio::runtime::Runtime;
use zeroize::Zeroizing;

use super::{client_with, connector_trusting, root_cause, Connector, ExtraRoots};

/// Why no answer came.
#[derive(Debug)]
pub enum Failure {
    /// Nothing within the deadline.
    Timeout,
    /// The innermost cause ("Connection refused (os error 111)", a TLS
    /// error, a loopback listener of another user). Names no header.
    Failed(String),
}

/// A client with its own connection pool and runtime.
pub struct BlockingClient {
    /// `Some` until dropped (see `Drop`).
    runtime: Option<Runtime>,
    client: Client<Connector, Full<Bytes>>,
}

/// A client may be dropped on an async thread (a cancelled sign-in in the
/// desktop app), where a runtime cannot be dropped the blocking way: it is
/// shut down without waiting.
impl Drop for BlockingClient {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// An answer whose body is read as the caller asks.
pub struct Answer<'c> {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
    runtime: &'c Runtime,
    deadline: Instant,
}

impl BlockingClient {
    pub fn new() -> Result<Self, Failure> {
        Self::trusting(&ExtraRoots::default())
    }

    /// A client that also trusts `extra` roots (a team server's own CA).
    pub fn trusting(extra: &ExtraRoots) -> Result<Self, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| Failure::Failed(error.to_string()))?;
        // The client's pool timer needs the runtime.
        let client = {
            let _entered = runtime.enter();
            let connector =
                connector_trusting(extra).map_err(|error| Failure::Failed(error.to_string()))?;
            client_with(connector)
        };
        Ok(Self {
            runtime: Some(runtime),
            client,
        })
    }

    /// Sends `request` and waits for the answer's head; the body has the
    /// rest of `timeout` to arrive. A request without a `Host` header gets
    /// the URL's.
    pub fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer<'_>, Failure> {
        let deadline = Instant::now() + timeout;
        if !request.headers().contains_key(http::header::HOST) {
            if let Some(host) = host_header(request.uri()) {
                request.headers_mut().insert(http::header::HOST, host);
            }
        }
        request
            .headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert(http::HeaderValue::from_static(concat!(
                "keybearer/",
                env!("CARGO_PKG_VERSION")
            )));
        let runtime = self.runtime();
        let sending = self.client.request(request);
        // The timer is made inside the runtime (it needs its clock).
        let response = runtime
            .block_on(async { tokio::time::timeout_at(deadline.into(), sending).await })
            .map_err(|_| Failure::Timeout)?
            .map_err(|error| Failure::Failed(root_cause(&error)))?;
        let (parts, body) = response.into_parts();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
            runtime,
            deadline,
        })
    }

    fn runtime(&self) -> &Runtime {
        // Taken only by `drop`.
        self.runtime.as_ref().expect("runtime until dropped")
    }
}

/// `host[:port]` of a URI, as a `Host` header (the client leaves it to us).
fn host_header(uri: &http::Uri) -> Option<http::HeaderValue> {
    let authority = uri.authority()?;
    http::HeaderValue::from_str(authority.as_str()).ok()
}

/// A request body that is wiped once sent.
pub fn secret_body(body: Zeroizing<Vec<u8>>) -> Full<Bytes> {
    Full::new(Bytes::from_owner(body))
}

impl Answer<'_> {
    /// The next piece of the body; `None` at its end.
    pub fn chunk(&mut self) -> Result<Option<Bytes>, Failure> {
        loop {
            let (deadline, body) = (self.deadline, &mut self.body);
            let frame = self
                .runtime
                .block_on(async { tokio::time::timeout_at(deadline.into(), body.frame()).await })
                .map_err(|_| Failure::Timeout)?;
            match frame {
                None => return Ok(None),
                Some(Err(error)) => return Err(Failure::Failed(root_cause(&error))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body into `into`, up to `limit` bytes; `Ok(false)` when
    /// there was more (reading stopped there).
    pub fn read_to(&mut self, into: &mut Vec<u8>, limit: usize) -> Result<bool, Failure> {
        while let Some(data) = self.chunk()? {
            let room = limit.saturating_sub(into.len());
            if data.len() > room {
                into.extend_from_slice(&data[..room]);
                return Ok(false);
            }
            into.extend_from_slice(&data);
        }
        Ok(true)
    }
}
