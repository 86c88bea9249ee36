//! A request's head at the proxy boundary (docs/architecture.md, "Proxy"):
//! what it must show before a credential is looked up ([`admit`]: the
//! listener as its host, a method MCP uses, the session secret, a path the
//! token may go to), and what is taken out of it before it goes upstream
//! ([`upstream_head`]). Pure functions of the head, so the fuzz target
//! `proxy_head` runs them as they are (`fuzzing`).

use http::header::{HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, HOST};
use http::uri::PathAndQuery;
use http::{Method, Uri, Version};

use super::headers::{host_is_listener, strip_hop_by_hop};
use super::paths::AllowedPaths;
use super::secret::SessionSecret;

/// Forwarding headers the agent may not set: a server could build URLs
/// from them (names made once, not parsed per request).
const FORWARDING_HEADERS: [http::HeaderName; 6] = [
    http::HeaderName::from_static("forwarded"),
    http::HeaderName::from_static("x-forwarded-for"),
    http::HeaderName::from_static("x-forwarded-host"),
    http::HeaderName::from_static("x-forwarded-proto"),
    http::HeaderName::from_static("x-forwarded-prefix"),
    http::HeaderName::from_static("x-forwarded-port"),
];

/// Why a request was refused before any credential was looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    Host,
    Method,
    Secret,
    Path,
}

impl Refused {
    /// For the rate-limited refusal log.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::Host => "Host is not the proxy listener",
            Self::Method => "method not used by MCP",
            Self::Secret => "missing or wrong session secret",
            Self::Path => "path outside the credential's server endpoint",
        }
    }
}

/// The checks a request's head passes before a credential is looked up, in
/// this order: the Host is the listener (DNS rebinding), the method is one
/// MCP uses (TRACE would echo the injected header back), the session secret
/// is right, and the path is one the token may go to (`paths`).
pub(crate) fn admit(
    parts: &http::request::Parts,
    listener_port: u16,
    secret: &SessionSecret,
    paths: &AllowedPaths,
) -> Result<(), Refused> {
    if !host_is_listener(&parts.headers, &parts.uri, listener_port) {
        return Err(Refused::Host);
    }
    if !matches!(parts.method, Method::GET | Method::POST | Method::DELETE) {
        return Err(Refused::Method);
    }
    if !secret.authorizes(&parts.headers) {
        return Err(Refused::Secret);
    }
    if !paths.allows(parts.uri.path()) {
        return Err(Refused::Path);
    }
    Ok(())
}

/// An admitted head made fit for the upstream, before the credential's own
/// headers are set: the target in origin form (the agent's path and query
/// as hyper parsed them, no copy; the pool connects to the upstream's
/// origin), no hop-by-hop or forwarding header (the agent cannot steer the
/// URLs a server builds from them), no `Authorization` (it holds the session
/// secret, and a header the credential sends is the credential's alone),
/// `Host` the upstream's, the answer asked for unencoded (so the SSE and
/// echo checks can read it), HTTP/1.1.
pub(crate) fn upstream_head(parts: &mut http::request::Parts, upstream_host: &HeaderValue) {
    parts.uri = Uri::from(
        std::mem::take(&mut parts.uri)
            .into_parts()
            .path_and_query
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    strip_hop_by_hop(&mut parts.headers);
    for name in FORWARDING_HEADERS {
        parts.headers.remove(name);
    }
    parts
        .headers
        .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    parts.headers.remove(AUTHORIZATION);
    parts.headers.insert(HOST, upstream_host.clone());
    parts.version = Version::HTTP_11;
}
