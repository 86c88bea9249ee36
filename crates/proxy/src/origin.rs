//! The one rewrite the proxy makes to what an upstream says: an absolute URL
//! naming the upstream's own origin becomes the same path on the listener,
//! so the agent comes back through the proxy (and its token). Relative URLs
//! are left as they are. Where the upstream sends the agent (an SSE
//! `endpoint`, a redirect) is also classified, by the rule the bridge and
//! the connection test share (`reach::check`): a path on its own origin, in
//! the folder of the credential's address, is learned as one the token may
//! go to; another origin, or another folder of the same one, is refused.

use url::{Origin, Url};

use keybearer_base::reach::{self, Refused};

#[derive(Debug, Clone)]
pub(crate) struct OriginMap {
    /// The credential URL: relative references resolve against it.
    base: Url,
    upstream: Origin,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    listener: String,
}

/// Where a URL the upstream gave the agent points.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A path the credential may go to: on the upstream's own origin, in
    /// the folder of the credential's address.
    Upstream(String),
    /// Another origin (or not a URL at all): refused.
    Elsewhere,
    /// The upstream's origin, but outside the credential's folder or a path
    /// read two ways (what it is, in words): refused.
    Outside(String),
}

impl OriginMap {
    pub(crate) fn new(upstream: &Url, listener_port: u16) -> Self {
        Self {
            base: upstream.clone(),
            upstream: upstream.origin(),
            listener: format!("http://127.0.0.1:{listener_port}"),
        }
    }

    /// Resolves `value` (absolute or relative) against the credential URL
    /// and judges it by [`reach::check`].
    pub(crate) fn target(&self, value: &str) -> Target {
        match reach::check(&self.base, value) {
            Ok(url) => Target::Upstream(url.path().to_string()),
            Err(Refused::OtherServer) => Target::Elsewhere,
            Err(refused) => Target::Outside(refused.to_string()),
        }
    }

    /// The listener's version of `value`, or `None` when it is not an
    /// absolute URL on the upstream origin (then it must pass unchanged).
    pub(crate) fn to_listener(&self, value: &str) -> Option<String> {
        let url = Url::parse(value.trim()).ok()?;
        if url.origin() != self.upstream {
            return None;
        }
        let mut rewritten = self.listener.clone();
        rewritten.push_str(url.path());
        if let Some(query) = url.query() {
            rewritten.push('?');
            rewritten.push_str(query);
        }
        if let Some(fragment) = url.fragment() {
            rewritten.push('#');
            rewritten.push_str(fragment);
        }
        Some(rewritten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_urls_on_the_upstream_origin_are_rewritten() {
        let upstream = Url::parse("https://mcp.example.com/sse").expect("url");
        let map = OriginMap::new(&upstream, 4567);
        assert_eq!(
            map.to_listener("https://mcp.example.com/messages/?session_id=abc")
                .as_deref(),
            Some("http://127.0.0.1:4567/messages/?session_id=abc")
        );
        assert_eq!(
            map.to_listener("HTTPS://MCP.example.com:443/x").as_deref(),
            Some("http://127.0.0.1:4567/x")
        );
        assert_eq!(map.to_listener("/messages/?session_id=abc"), None);
        assert_eq!(map.to_listener("https://other.example.com/messages"), None);
        assert_eq!(map.to_listener("http://mcp.example.com/messages"), None);
        assert_eq!(map.to_listener("https://mcp.example.com:8443/x"), None);
        assert_eq!(map.to_listener("not a url"), None);
    }

    #[test]
    fn targets_resolve_against_the_credential_url() {
        let upstream = Url::parse("https://mcp.example.com/v1/sse").expect("url");
        let map = OriginMap::new(&upstream, 4567);
        assert_eq!(
            map.target("/v1/messages/?session_id=abc"),
            Target::Upstream("/v1/messages/".into())
        );
        assert_eq!(
            map.target("messages"),
            Target::Upstream("/v1/messages".into())
        );
        assert_eq!(
            map.target("https://MCP.example.com:443/v1/m"),
            Target::Upstream("/v1/m".into())
        );
        // The same origin outside the credential's folder (`/v1/`).
        for outside in ["/messages/?session_id=abc", "https://mcp.example.com/m"] {
            assert!(
                matches!(map.target(outside), Target::Outside(_)),
                "{outside}"
            );
        }
        assert_eq!(map.target("https://evil.example/m"), Target::Elsewhere);
        assert_eq!(map.target("//evil.example/m"), Target::Elsewhere);
        assert_eq!(map.target("http://mcp.example.com/m"), Target::Elsewhere);
    }
}
