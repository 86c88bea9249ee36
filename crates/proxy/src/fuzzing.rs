//! The proxy's pure parts, reached without a socket, for the fuzz targets
//! and their replay tests (`crates/fuzz-checks`; docs/architecture.md,
//! "Fuzzing"): the request head's checks and rewrite (`head`), the path
//! rules (`origin`, `paths`) and the SSE `endpoint` rewriter (`sse`), as
//! the listener runs them. Not an API: nothing else may use it.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use url::Url;

use super::head::{admit, upstream_head};
use super::origin::{OriginMap, Target};
use super::paths::AllowedPaths;
use super::secret::SessionSecret;
use super::sse::EndpointRewriter;
use keybearer_base::Result;

/// One listener's rules for a credential URL: its session secret, the
/// paths the token may go to, the upstream's `Host`.
pub struct Listener {
    secret: SessionSecret,
    origins: OriginMap,
    paths: Arc<AllowedPaths>,
    upstream_host: HeaderValue,
    port: u16,
}

/// What became of an address an upstream named (an SSE `endpoint`, a
/// redirect's `Location`).
#[derive(Debug, PartialEq, Eq)]
pub enum Named {
    /// A path the token may now go to.
    Learned(String),
    /// Another origin: refused.
    Elsewhere,
    /// The upstream's origin, outside the credential's folder: refused (why).
    Outside(String),
}

impl Listener {
    pub fn new(credential_url: &Url, port: u16) -> Result<Self> {
        let (_, upstream_host) = super::upstream_parts(credential_url)?;
        Ok(Self {
            secret: SessionSecret::generate()?,
            origins: OriginMap::new(credential_url, port),
            paths: Arc::new(AllowedPaths::new(credential_url.path())),
            upstream_host,
            port,
        })
    }

    /// The session secret an agent shows.
    pub fn secret(&self) -> &str {
        self.secret.expose_for_agent_config()
    }

    /// The upstream's `Host`, as the head sent upstream carries it.
    pub fn upstream_host(&self) -> &HeaderValue {
        &self.upstream_host
    }

    /// An address the upstream named, judged (and learned) as the handler
    /// and the SSE rewriter do.
    pub fn upstream_named(&self, address: &str) -> Named {
        match self.origins.target(address) {
            Target::Upstream(path) => {
                self.paths.learn(&path);
                Named::Learned(path)
            }
            Target::Elsewhere => Named::Elsewhere,
            Target::Outside(what) => Named::Outside(what),
        }
    }

    /// The listener's version of an absolute address on the upstream.
    pub fn to_listener(&self, address: &str) -> Option<String> {
        self.origins.to_listener(address)
    }

    /// Whether a request for `path` may carry the token.
    pub fn allows(&self, path: &str) -> bool {
        self.paths.allows(path)
    }

    /// A request head as the handler takes it: refused before any lookup
    /// (the reason, as logged), or the head that goes upstream.
    pub fn forward(
        &self,
        mut parts: http::request::Parts,
    ) -> std::result::Result<http::request::Parts, &'static str> {
        admit(&parts, self.port, &self.secret, &self.paths).map_err(|refused| refused.reason())?;
        upstream_head(&mut parts, &self.upstream_host);
        Ok(parts)
    }

    /// An event stream's rewriter for this listener (it learns into the
    /// same paths).
    pub fn event_stream(&self) -> EventStream {
        EventStream(EndpointRewriter::new(
            self.origins.clone(),
            Arc::clone(&self.paths),
        ))
    }
}

/// A legacy SSE stream on its way to the agent.
pub struct EventStream(EndpointRewriter);

impl EventStream {
    /// The next chunk; what may be sent now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.0.push(chunk)
    }

    /// The end of the stream: what is left.
    pub fn finish(&mut self) -> Bytes {
        self.0.finish()
    }

    /// Whether an endpoint the token may not go to ended the stream.
    pub fn refused(&self) -> bool {
        self.0.refused()
    }
}
