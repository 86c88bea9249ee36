//! The one rewrite the proxy makes to what an upstream says: an absolute URL
//! naming the upstream's own origin becomes the same path on the listener,
//! so the agent comes back through the proxy (and its token). Relative URLs
//! are left as they are; so is nothing else that the agent, resolving it
//! against its own `http://127.0.0.1` address, could read otherwise than
//! the upstream's `https` address reads it (`https:host/x` is a path on the
//! one and another server to the other): that is given as the listener's
//! URL of the path that was judged. Where the upstream sends the agent (an SSE
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
    /// The agent's address for this server (`listener` and the credential
    /// URL's path): what an address left as it is resolves against.
    agent: Option<Url>,
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
        let listener = format!("http://127.0.0.1:{listener_port}");
        Self {
            base: upstream.clone(),
            upstream: upstream.origin(),
            agent: Url::parse(&format!("{listener}{}", upstream.path())).ok(),
            listener,
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

    /// The listener's version of `value`, an address [`target`](Self::target)
    /// allowed, or `None` when it must pass unchanged: when it is not on the
    /// upstream, and when the agent, resolving it against its own address
    /// on the listener, reaches the very path and query the upstream's
    /// reading does (a relative path). Anything read otherwise is given as
    /// the listener's absolute URL of the path that was judged: a URL
    /// parser reads `https:evil.example/x` against the upstream's `https`
    /// address as a path on it, but against the listener's `http` one as
    /// another server.
    pub(crate) fn to_listener(&self, value: &str) -> Option<String> {
        let value = value.trim();
        let url = self.base.join(value).ok()?;
        if url.origin() != self.upstream {
            return None;
        }
        let seen = self.agent.as_ref().and_then(|agent| agent.join(value).ok());
        let same = seen.is_some_and(|seen| {
            seen.origin().ascii_serialization() == self.listener
                && seen.path() == url.path()
                && seen.query() == url.query()
        });
        if same && Url::parse(value).is_err() {
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
        // Read as a path by the upstream's https address, as another server
        // against the listener's http one: given as the listener's URL.
        assert_eq!(
            map.to_listener("https:evil.example/x").as_deref(),
            Some("http://127.0.0.1:4567/evil.example/x")
        );
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
