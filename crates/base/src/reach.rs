//! Where a server's credential may go (docs/architecture.md, "Where a
//! credential may go"): the one rule for every address a server hands back
//! before the credential follows it — a legacy SSE `endpoint`, a redirect's
//! `Location`. The proxy (which paths it learns and then lets through), the
//! bridge (where it POSTs messages) and the connection test (where it POSTs
//! `initialize`) all call [`check`], so they agree by construction.
//!
//! An address, resolved against the credential's server URL, may receive
//! that credential when:
//! - it is on the same origin (scheme, host, port);
//! - its path reads one way only ([`is_clean`]: no dot segments, no `;`
//!   path parameters, no encoded dot, slash, backslash, `;` or `%`);
//! - its path lies in the folder of the server's address ([`folder`]): the
//!   URL's path without its last segment, a trailing slash not counting as
//!   one. `https://host/tenant-a/sse` (or `…/sse/`) reaches `/tenant-a/…`
//!   only, never another tenant's `/tenant-b/…` on a shared host;
//!   `https://host/sse` reaches its whole origin.
//!
//! Limits: the folder is the finest unit; a server at the root of its origin
//! may send the credential to any of that origin's paths. A server that puts
//! its message path outside its own folder (`/v1/sse` sending to
//! `/messages/`) cannot be used through Keybearer: the refusal says where it
//! pointed. The query and fragment play no part (the fragment is dropped, as
//! any HTTP client does).

use std::fmt;

use url::Url;

/// The longest path a refusal quotes (a hostile server chooses it).
const QUOTED_PATH: usize = 120;

/// Why an address may not receive the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not an address at all, or one on another origin.
    OtherServer,
    /// A path that could be read two ways (dot segments, encoded slashes, …).
    Ambiguous,
    /// On the server's origin, outside the folder of its address.
    Outside { path: String, folder: String },
}

/// The refused address in a user's words, to follow "send messages to" or
/// "redirected to"; a quoted path is cut short.
impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OtherServer => f.write_str("another server"),
            Self::Ambiguous => f.write_str("an address whose path can be read two ways"),
            Self::Outside { path, folder } => {
                let quoted = match path.char_indices().nth(QUOTED_PATH) {
                    Some((cut, _)) => format!("{}…", &path[..cut]),
                    None => path.clone(),
                };
                write!(
                    f,
                    "{quoted}, outside {folder} where the server's own address is"
                )
            }
        }
    }
}

/// Whether `address` (absolute or relative, as the server sent it) may
/// receive the credential registered for `server`; `Ok` is the address
/// resolved, without fragment or user name.
pub fn check(server: &Url, address: &str) -> Result<Url, Refused> {
    let mut url = server
        .join(address.trim())
        .map_err(|_| Refused::OtherServer)?;
    if url.origin() != server.origin() {
        return Err(Refused::OtherServer);
    }
    if !is_clean(url.path()) {
        return Err(Refused::Ambiguous);
    }
    let folder = folder(server.path());
    if !url.path().starts_with(folder) {
        return Err(Refused::Outside {
            path: url.path().to_string(),
            folder: folder.to_string(),
        });
    }
    url.set_fragment(None);
    // Same origin, so these always succeed; a user name is never sent.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

/// The folder of a server URL's path: up to and including the slash before
/// its last segment (`/a/sse` and `/a/sse/` → `/a/`; `/sse` and `/` → `/`).
pub fn folder(path: &str) -> &str {
    let resource = path.strip_suffix('/').unwrap_or(path);
    match resource.rfind('/') {
        Some(slash) => &path[..=slash],
        None => "/",
    }
}

/// A path with one reading only: absolute, no `.`/`..` or empty segments,
/// no percent-encoded dot, slash or backslash, no backslash or NUL; no `;`
/// (Tomcat, Jetty and Spring strip a segment's `;parameters` before they
/// route, so `/tenant-a/..;/tenant-b/m` reaches `/tenant-b/m`), encoded or
/// not; and no `%25`, an encoded `%` (`%252e` is a dot to a server that
/// decodes twice).
pub fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if path.contains(['\\', '\0', ';']) {
        return false;
    }
    // Checked on every proxied request: no copy of the path, no list of segments.
    let encoded_separator = path.as_bytes().windows(3).any(|window| {
        window[0] == b'%'
            && matches!(
                [
                    window[1].to_ascii_lowercase(),
                    window[2].to_ascii_lowercase()
                ],
                [b'2', b'e']
                    | [b'2', b'f']
                    | [b'5', b'c']
                    | [b'0', b'0']
                    | [b'3', b'b']
                    | [b'2', b'5']
            )
    });
    if encoded_separator {
        return false;
    }
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        // A trailing slash (an empty last segment) is part of a path's
        // spelling ("/mcp/"); an empty segment anywhere else is not.
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == "." || segment == ".." {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(server: &str, address: &str) -> Result<String, Refused> {
        let server = Url::parse(server).expect("server url");
        check(&server, address).map(|url| url.to_string())
    }

    #[test]
    fn the_folder_is_the_path_without_its_last_segment() {
        for (path, want) in [
            ("/", "/"),
            ("/sse", "/"),
            ("/sse/", "/"),
            ("/tenant-a/sse", "/tenant-a/"),
            ("/tenant-a/sse/", "/tenant-a/"),
            ("/a/b/c", "/a/b/"),
        ] {
            assert_eq!(folder(path), want, "{path}");
        }
    }

    /// The table every caller (proxy, bridge, connection test) now shares.
    #[test]
    fn allowed_and_refused_addresses() {
        let tenant = "https://mcp.example.com/tenant-a/sse";
        for (server, address, want) in [
            // The SDK's own announcements, at the root and mounted.
            (
                "https://mcp.example.com/sse",
                "/messages/?session_id=1",
                "https://mcp.example.com/messages/?session_id=1",
            ),
            (
                tenant,
                "/tenant-a/messages/?session_id=1",
                "https://mcp.example.com/tenant-a/messages/?session_id=1",
            ),
            (
                tenant,
                "messages?s=1",
                "https://mcp.example.com/tenant-a/messages?s=1",
            ),
            (
                tenant,
                "sse/message",
                "https://mcp.example.com/tenant-a/sse/message",
            ),
            (
                tenant,
                "https://MCP.example.com:443/tenant-a/m#frag",
                "https://mcp.example.com/tenant-a/m",
            ),
            (
                tenant,
                "https://someone@mcp.example.com/tenant-a/m",
                "https://mcp.example.com/tenant-a/m",
            ),
            (
                tenant,
                " /tenant-a/m ",
                "https://mcp.example.com/tenant-a/m",
            ),
            (
                "https://mcp.example.com/tenant-a/sse/",
                "/tenant-a/messages/",
                "https://mcp.example.com/tenant-a/messages/",
            ),
            (
                "http://127.0.0.1:9000/sse",
                "http://127.0.0.1:9000/anything",
                "http://127.0.0.1:9000/anything",
            ),
        ] {
            assert_eq!(
                outcome(server, address).as_deref(),
                Ok(want),
                "{server} → {address}"
            );
        }

        let outside = |path: &str| Refused::Outside {
            path: path.into(),
            folder: "/tenant-a/".into(),
        };
        for (address, want) in [
            (
                "/tenant-b/messages/?session_id=1",
                outside("/tenant-b/messages/"),
            ),
            ("/messages/", outside("/messages/")),
            ("/tenant-ab/m", outside("/tenant-ab/m")),
            ("/tenant-a", outside("/tenant-a")),
            ("../tenant-b/m", outside("/tenant-b/m")),
            ("/tenant-a/../tenant-b/m", outside("/tenant-b/m")),
            ("/tenant-a/%2e%2e/tenant-b/m", outside("/tenant-b/m")),
            ("https://mcp.example.com/other", outside("/other")),
            ("/tenant-a/x%2f..%2f..%2ftenant-b", Refused::Ambiguous),
            ("/tenant-a//m", Refused::Ambiguous),
            ("/tenant-a/%00", Refused::Ambiguous),
            // Path parameters: a Java server routes these to /tenant-b/m.
            ("/tenant-a/..;/tenant-b/m", Refused::Ambiguous),
            ("..;/tenant-b/m", Refused::Ambiguous),
            ("/tenant-a/m;jsessionid=1", Refused::Ambiguous),
            ("/tenant-a/;/m", Refused::Ambiguous),
            ("/tenant-a/%3B/m", Refused::Ambiguous),
            ("/tenant-a/%3b/m", Refused::Ambiguous),
            // An encoded `%`: a dot, a slash to a server decoding twice.
            ("/tenant-a/%252e%252e/tenant-b/m", Refused::Ambiguous),
            ("/tenant-a/%252E%252E/tenant-b/m", Refused::Ambiguous),
            ("/tenant-a/x%252f..%252f..%252ftenant-b", Refused::Ambiguous),
            ("/tenant-a/100%25", Refused::Ambiguous),
            ("https://evil.example/tenant-a/m", Refused::OtherServer),
            ("//evil.example/tenant-a/m", Refused::OtherServer),
            ("http://mcp.example.com/tenant-a/m", Refused::OtherServer),
            (
                "https://mcp.example.com:8443/tenant-a/m",
                Refused::OtherServer,
            ),
            (
                "https://mcp.example.com.evil.example/tenant-a/m",
                Refused::OtherServer,
            ),
            ("http:/\n/evil.example/tenant-a/m", Refused::OtherServer),
            ("mailto:a@mcp.example.com", Refused::OtherServer),
            ("http://[::1", Refused::OtherServer),
        ] {
            assert_eq!(outcome(tenant, address), Err(want), "{address:?}");
        }
    }

    #[test]
    fn a_refusal_says_where_in_plain_words_and_briefly() {
        let refused =
            outcome("https://h.example/tenant-a/sse", "/tenant-b/m").expect_err("outside");
        assert_eq!(
            refused.to_string(),
            "/tenant-b/m, outside /tenant-a/ where the server's own address is"
        );
        let long = format!("/{}", "x".repeat(10_000));
        let refused = outcome("https://h.example/tenant-a/sse", &long).expect_err("outside");
        assert!(refused.to_string().len() < 300);
    }
}
