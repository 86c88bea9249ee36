//! Echoed secrets through the proxy (docs/architecture.md, "Echoed
//! secrets"): what the request's credential put on the wire never comes
//! back to the agent in the answer, whatever part of it a server repeats.
//!
//! Flow: the handler keeps the injection's needles (made once when the
//! credential was opened; a reference count per request) when it lets go of
//! the injection, and hands them here with the answer: [`Echo::head`]
//! covers them in the reason phrase (hyper passes a non-standard one on),
//! in header values, and drops a header whose name holds one;
//! [`Echo::body`] refuses an answer in a content coding (it was asked for
//! unencoded and compressed bytes cannot be searched: a 502 that says so,
//! rather than bytes nobody checked) and otherwise covers them in the body
//! and trailers as they stream (`keybearer_net::redacted`; at most the
//! longest needle less one byte held back). Each part of an answer that had
//! one is counted once as `credential.echoed`, with where, never the value.
//! Covers keep the length: `Content-Length` stays as the server sent it.

use std::sync::Arc;

use http::response::Parts;
use http::{Method, StatusCode};
use hyper::body::Body;
use hyper::ext::ReasonPhrase;

use super::handler::Route;
use super::pool::PooledBody;
use keybearer_base::echo::Needles;
use keybearer_net::redacted::{is_encoded, redact_headers, Redacted};
use keybearer_source::CredentialIds;

/// What this request's answer must not hand back, and whose it is.
pub(crate) struct Echo {
    pub(crate) needles: Arc<Needles>,
    pub(crate) ids: Arc<CredentialIds>,
    pub(crate) method: Method,
}

/// The server answered in a content coding after all.
pub(crate) struct Encoded;

impl Echo {
    /// Covers the secrets in the answer's status line and headers.
    pub(crate) fn head(&self, route: &Route, parts: &mut Parts) {
        if self.needles.is_empty() {
            return;
        }
        let reason = parts.extensions.get::<ReasonPhrase>();
        if let Some((covered, _)) = reason.and_then(|reason| self.needles.redact(reason.as_bytes()))
        {
            match ReasonPhrase::try_from(covered) {
                Ok(reason) => parts.extensions.insert(reason),
                // The standard phrase for the status instead.
                Err(_) => parts.extensions.remove::<ReasonPhrase>(),
            };
            self.record(route, parts.status, "status line");
        }
        if redact_headers(&self.needles, &mut parts.headers) {
            self.record(route, parts.status, "headers");
        }
    }

    /// The body (and trailers), its secrets covered as it streams (with no
    /// needles, passed on as it is); [`Encoded`] when it comes in a content
    /// coding and is not empty.
    pub(crate) fn body(
        self,
        route: &Arc<Route>,
        parts: &Parts,
        body: PooledBody,
    ) -> Result<Redacted<PooledBody, impl FnOnce() + Send + Unpin + 'static>, Encoded> {
        let empty = body.is_end_stream() || body.size_hint().exact() == Some(0);
        if is_encoded(&parts.headers) && !empty {
            return Err(Encoded);
        }
        let route = Arc::clone(route);
        let status = parts.status;
        let Self {
            needles,
            ids,
            method,
        } = self;
        let report = move || echoed(&route, &ids, &method, status, "body");
        Ok(Redacted::new(body, needles, report))
    }

    fn record(&self, route: &Route, status: StatusCode, place: &'static str) {
        echoed(route, &self.ids, &self.method, status, place);
    }
}

/// One part of an answer repeated the credential: a `credential.echoed`
/// count (the audit window keeps a server that echoes every answer from
/// growing the trail) and a debug line, never the value.
fn echoed(
    route: &Route,
    ids: &Arc<CredentialIds>,
    method: &Method,
    status: StatusCode,
    place: &'static str,
) {
    tracing::debug!(
        session_id = %route.session_id,
        upstream = %route.credential_url,
        place,
        "the server's answer repeated the credential; Keybearer covered it before the agent saw it"
    );
    route
        .audit
        .echoed(ids, &route.credential_url, method, status, place);
}
