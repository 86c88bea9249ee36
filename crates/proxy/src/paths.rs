//! Which paths of the upstream a session's listener injects the token for:
//! the credential's own path, plus the paths the upstream itself sent the
//! agent to — the message path of a legacy SSE `endpoint` event and the
//! target of a redirect — once `reach::check` (the rule the bridge and the
//! connection test share) allowed them: same origin, in the folder of the
//! credential's address. Any other path of the same server (a reflecting
//! debug endpoint, `/../admin`) is refused before a token is looked up.
//! Paths are compared exactly, query left out, after refusing any that could
//! be read two ways (`reach::is_clean`): dot segments, `;` path parameters,
//! encoded dots, slashes, backslashes, `;` or `%`, empty segments, NUL.

use std::sync::RwLock;

pub(crate) use keybearer_base::reach::is_clean;

/// At most this many learned paths (a server announces one message path;
/// the bound keeps a hostile upstream from growing the list).
const MAX_LEARNED: usize = 32;

#[derive(Debug)]
pub(crate) struct AllowedPaths {
    credential: String,
    learned: RwLock<Vec<String>>,
}

impl AllowedPaths {
    pub(crate) fn new(credential_path: &str) -> Self {
        Self {
            credential: credential_path.to_string(),
            learned: RwLock::new(Vec::new()),
        }
    }

    /// The credential's own path.
    pub(crate) fn credential(&self) -> &str {
        &self.credential
    }

    pub(crate) fn allows(&self, path: &str) -> bool {
        if !is_clean(path) {
            return false;
        }
        path == self.credential
            || self
                .learned
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .any(|learned| learned == path)
    }

    /// A path the upstream sent the agent to, as `reach::check` allowed it.
    pub(crate) fn learn(&self, path: &str) {
        if !is_clean(path) || path == self.credential {
            return;
        }
        let mut learned = self
            .learned
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !learned.iter().any(|known| known == path) && learned.len() < MAX_LEARNED {
            learned.push(path.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unambiguous_paths_are_clean() {
        for clean in ["/", "/mcp", "/mcp/", "/v1/sse", "/messages/", "/a%20b"] {
            assert!(is_clean(clean), "{clean}");
        }
        for dirty in [
            "",
            "mcp",
            "/../mcp",
            "/mcp/..",
            "/mcp/./x",
            "/mcp/%2e%2e/x",
            "/mcp/%2E/x",
            "/mcp%2fadmin",
            "/mcp%5cadmin",
            "/mcp\\admin",
            "//mcp",
            "/mcp//x",
            "/mcp%00",
            "/mcp;x=1",
            "/mcp/..;/admin",
            "/mcp%3b/x",
            "/mcp/%252e%252e/admin",
            "/mcp%25",
        ] {
            assert!(!is_clean(dirty), "{dirty}");
        }
    }

    #[test]
    fn the_credential_path_and_learned_paths_only() {
        let paths = AllowedPaths::new("/sse");
        assert!(paths.allows("/sse"));
        assert!(
            !paths.allows("/sse/"),
            "a different spelling is another path"
        );
        assert!(!paths.allows("/messages/"));
        paths.learn("/messages/");
        assert!(paths.allows("/messages/"));
        paths.learn("/../etc");
        assert!(!paths.allows("/../etc"));
        for n in 0..100 {
            paths.learn(&format!("/p{n}"));
        }
        assert!(paths.allows("/p0"));
        assert!(!paths.allows("/p99"), "the learned list is bounded");
    }
}
