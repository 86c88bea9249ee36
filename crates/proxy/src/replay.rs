//! Sending a request once more after a 401 when the credential changed
//! meanwhile (docs/architecture.md, "OAuth", "A token's path"): a server may
//! refuse an access token before its expiry (revoked, rotated keys, a
//! restarted server) and a refresh fixes it; a rotated token or a team
//! credential's newer version may have been stored while a request
//! carrying the old one was on its way. The agent should not see that 401.
//!
//! Flow: for a credential that reports refusals (all of them today), a
//! request body whose length is known and at most [`LIMIT`] is read whole
//! before forwarding (MCP's JSON-RPC POSTs are a few hundred bytes; GET and
//! DELETE have none), and the request's head is copied without the
//! credential's headers. On a 401 the handler tells the source (a grant is
//! renewed, a team credential checked), looks the credential up again and,
//! only when it would now send other headers, sends the copy with them:
//! one retry, never more.
//! Limits: a body without a length (chunked) or larger than [`LIMIT`] is
//! streamed as before and not retried: the agent gets the 401 and its next
//! request carries the renewed grant.

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Incoming};

/// The largest body kept for a retry.
pub(crate) const LIMIT: u64 = 256 * 1024;

/// What the proxy sends upstream: the agent's body as it streams, or a kept one.
pub(crate) type RequestBody = Either<Incoming, Full<Bytes>>;

/// A request head and body kept for one more try.
pub(crate) struct Replay {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
}

/// The body to send now, and the copy for a retry when the body could be
/// kept. An error is the agent's body failing to arrive.
pub(crate) async fn keep(
    parts: &Parts,
    body: Incoming,
) -> Result<(RequestBody, Option<Replay>), hyper::Error> {
    let small = body
        .size_hint()
        .exact()
        .is_some_and(|length| length <= LIMIT);
    if !small {
        return Ok((Either::Left(body), None));
    }
    let bytes = body.collect().await?.to_bytes();
    let replay = Replay {
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        version: parts.version,
        headers: parts.headers.clone(),
        body: bytes.clone(),
    };
    Ok((Either::Right(Full::new(bytes)), Some(replay)))
}

impl Replay {
    /// The kept request with `credential` headers (replacing any of the
    /// same names, as the first try did).
    pub(crate) fn with(self, credential: &[(HeaderName, HeaderValue)]) -> Request<RequestBody> {
        let mut headers = self.headers;
        set_credential_headers(&mut headers, credential);
        let mut request = Request::new(Either::Right(Full::new(self.body)));
        *request.method_mut() = self.method;
        *request.uri_mut() = self.uri;
        *request.version_mut() = self.version;
        *request.headers_mut() = headers;
        request
    }
}

/// Puts the credential's headers on a request: any header of the same name
/// the agent sent is dropped first (a credential header is the credential's
/// alone), then every credential value is added (a name may repeat).
pub(crate) fn set_credential_headers(
    headers: &mut http::HeaderMap,
    credential: &[(HeaderName, HeaderValue)],
) {
    for (name, _) in credential {
        headers.remove(name);
    }
    for (name, value) in credential {
        headers.append(name.clone(), value.clone());
    }
}
