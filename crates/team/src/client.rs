//! The HTTP side of a team server: one request, its answer read whole into
//! a wiped buffer, transport failures in the user's words
//! (docs/architecture.md, "Team vaults").
//!
//! Requests go through `keybearer-net`'s blocking client: the same TLS
//! stack and rules as every other request (no redirects, the owner of a
//! loopback server checked), plus the CA file of this server's settings.
//! The token travels in `X-Vault-Token` (OpenBao and HashiCorp Vault),
//! built from a wiped buffer and marked sensitive. A call made from inside
//! an async runtime (the proxy's request handler) runs on a thread of its
//! own, since the blocking client drives a runtime of its own.
//!
//! Limits: answers are read up to 1 MiB; hyper's own read buffers are not
//! wiped (docs/architecture.md, "A token's path"). Nothing of an answer's
//! body is ever quoted in an error: the server's words could repeat what
//! was sent.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::Full;
use keybearer_base::error::{Error, Result};
use keybearer_base::team_error::TeamError;
use keybearer_net::upstream::blocking::{secret_body, BlockingClient, Failure};
use keybearer_net::upstream::{is_certificate_failure, ExtraRoots};
use zeroize::Zeroizing;

use crate::settings::{Ca, TeamServerSettings};

/// How long one request may take, all of it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read.
const MAX_ANSWER: usize = 1024 * 1024;

/// An answer: its status and its body (wiped when dropped: it may hold a
/// token or a credential).
pub(crate) struct Reply {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
}

impl Reply {
    /// The body as `T`; a body that is not is the server's fault.
    pub fn json<T: serde::de::DeserializeOwned>(&self, server: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|_| {
            Error::Team(TeamError::BadAnswer {
                server: server.to_string(),
                problem: format!(
                    "an answer (HTTP {}) that is not the JSON expected",
                    self.status
                ),
            })
        })
    }
}

/// One team server's HTTP client.
pub(crate) struct BaoClient {
    address: String,
    http: BlockingClient,
}

impl BaoClient {
    pub fn new(settings: &TeamServerSettings) -> Result<Self> {
        let roots = match settings.ca() {
            None => ExtraRoots::default(),
            Some(Ca::Pem(pem)) => ExtraRoots::from_pem(pem, "ca_file")?,
            Some(Ca::File(path)) => {
                let pem = std::fs::read(path).map_err(|error| {
                    Error::invalid(
                        "ca_file",
                        format!(
                            "The CA file {} could not be read ({error}). Check the path in the team server's settings.",
                            path.display()
                        ),
                    )
                })?;
                ExtraRoots::from_pem(&pem, "ca_file")?
            }
        };
        let http = BlockingClient::trusting(&roots).map_err(|failure| {
            Error::Io(std::io::Error::other(match failure {
                Failure::Timeout => "timeout".to_string(),
                Failure::Failed(cause) => cause,
            }))
        })?;
        Ok(Self {
            address: settings.address().to_string(),
            http,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// `method` on `/v1/<path>` with `token` and a JSON `body`.
    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&Zeroizing<String>>,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Reply> {
        off_runtime(|| self.call_here(method, path, token, body))
    }

    fn call_here(
        &self,
        method: Method,
        path: &str,
        token: Option<&Zeroizing<String>>,
        body: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<Reply> {
        let server = &self.address;
        let bad = |problem: &str| {
            Error::Team(TeamError::BadAnswer {
                server: server.clone(),
                problem: problem.to_string(),
            })
        };
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{server}/v1/{path}"))
            .header("X-Vault-Request", "true")
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = token {
            let mut bytes = Zeroizing::new(Vec::with_capacity(token.len()));
            bytes.extend_from_slice(token.as_bytes());
            let mut value =
                HeaderValue::from_maybe_shared(Bytes::from_owner(bytes)).map_err(|_| {
                    Error::Team(TeamError::SignInRequired {
                        server: server.clone(),
                    })
                })?;
            value.set_sensitive(true);
            request = request.header("X-Vault-Token", value);
        }
        let body = match body {
            Some(body) => {
                request = request.header(http::header::CONTENT_TYPE, "application/json");
                secret_body(body)
            }
            None => Full::new(Bytes::new()),
        };
        let request = request
            .body(body)
            .map_err(|_| bad("a request Keybearer could not build"))?;
        let mut answer = self
            .http
            .send(request, REQUEST_TIMEOUT)
            .map_err(|failure| transport(server, failure))?;
        let status = answer.status.as_u16();
        let mut body = Zeroizing::new(Vec::new());
        let whole = answer
            .read_to(&mut body, MAX_ANSWER)
            .map_err(|failure| transport(server, failure))?;
        if !whole {
            return Err(bad("an answer larger than 1 MiB"));
        }
        tracing::debug!(server = %server, status, "team server answered");
        Ok(Reply { status, body })
    }
}

/// A request that got no answer, in the user's words.
fn transport(server: &str, failure: Failure) -> Error {
    let server = server.to_string();
    Error::Team(match failure {
        Failure::Timeout => TeamError::Timeout {
            server,
            seconds: REQUEST_TIMEOUT.as_secs(),
        },
        Failure::Failed(cause) if is_certificate_failure(&cause) => {
            TeamError::Untrusted { server, cause }
        }
        Failure::Failed(cause) => TeamError::Unreachable { server, cause },
    })
}

/// Runs `call` on this thread, or on a thread of its own when this thread
/// drives an async runtime (the blocking client cannot run inside one).
pub(crate) fn off_runtime<T: Send>(call: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return call();
    }
    std::thread::scope(|scope| {
        scope.spawn(call).join().unwrap_or_else(|_| {
            Err(Error::Io(std::io::Error::other(
                "the request to the team server stopped unexpectedly",
            )))
        })
    })
}
