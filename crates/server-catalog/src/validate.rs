//! Checks that every catalog entry passes before anyone sees it, whether it
//! comes from the shipped file or from the MCP Registry.
//!
//! Flow: the loaders build text and addresses with [`text`], [`web_address`],
//! [`header_name`] and friends (which also normalise them), then run
//! [`entry`] on the finished entry and [`unique`] on the whole list (those two
//! live in `validate_entry.rs`).
//!
//! Rules (the limits are the constants below):
//! - addresses are `https://`; `http://` only to `127.0.0.1`, `localhost` or
//!   `[::1]` (for tests); no user name or password, no `#fragment`, no spaces
//!   or control characters, at most [`MAX_URL_BYTES`];
//! - text is printable: no control characters, no bidirectional overrides or
//!   isolates, no zero-width characters (they can make a name read as another);
//! - names ≤ [`MAX_NAME_CHARS`], purposes ≤ [`MAX_PURPOSE_CHARS`] characters,
//!   ≤ [`MAX_REMOTES`] addresses, ≤ [`MAX_HEADERS`] headers per sign-in;
//! - header names are HTTP tokens and never one the proxy or the transport
//!   owns (`Host`, `Content-Length`, `Mcp-Session-Id`, ...);
//! - ids and addresses are unique across the catalog.
//!
//! Error messages quote the offending value clipped to 60 characters with
//! escapes, so a hostile value cannot flood or forge a log line.

use url::{Host, Url};

pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_PURPOSE_CHARS: usize = 200;
pub const MAX_REMOTES: usize = 8;
pub const MAX_HEADERS: usize = 8;
pub const MAX_SIGN_INS: usize = 5;
pub const MAX_URL_BYTES: usize = 2048;
/// Scopes and permissions per sign-in.
pub const MAX_LIST_ITEMS: usize = 32;
/// One scope or permission.
pub const MAX_ITEM_CHARS: usize = 120;
/// A header's description.
pub const MAX_DESCRIPTION_CHARS: usize = 300;
pub const MAX_ID_CHARS: usize = 200;

/// Headers a sign-in may not name: the proxy, HTTP or MCP itself sets them.
const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "last-event-id",
    "mcp-protocol-version",
    "mcp-session-id",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A value that fails a rule, said in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {problem}")]
pub struct Invalid {
    /// Which value (e.g. `entry "github": address`).
    pub what: String,
    pub problem: String,
}

impl Invalid {
    pub(crate) fn new(what: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            problem: problem.into(),
        }
    }

    fn within(self, entry_id: &str) -> Self {
        Self {
            what: format!("entry {}: {}", quoted(entry_id), self.what),
            problem: self.problem,
        }
    }
}

/// A value for a message: escaped and clipped to 60 characters.
pub(crate) fn quoted(value: &str) -> String {
    let clipped: String = value.chars().take(60).collect();
    let mut out = format!("{clipped:?}");
    if value.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// Characters that may not appear in any text: controls, bidirectional
/// overrides and isolates, zero-width characters and line separators.
fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Checked, trimmed text of 1 to `max_chars` characters.
pub fn text(what: &str, raw: &str, max_chars: usize) -> Result<String, Invalid> {
    if raw.chars().any(is_forbidden_char) {
        return Err(Invalid::new(
            what,
            format!("{} has control or invisible characters", quoted(raw)),
        ));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new(what, "is empty"));
    }
    let count = trimmed.chars().count();
    if count > max_chars {
        return Err(Invalid::new(
            what,
            format!("is {count} characters long; at most {max_chars} are allowed"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// A checked web address, normalised (lowercase host, no default port).
pub fn web_address(what: &str, raw: &str) -> Result<String, Invalid> {
    if raw.len() > MAX_URL_BYTES {
        return Err(Invalid::new(
            what,
            format!(
                "is {} bytes long; at most {MAX_URL_BYTES} are allowed",
                raw.len()
            ),
        ));
    }
    if raw
        .chars()
        .any(|c| c.is_whitespace() || is_forbidden_char(c))
    {
        return Err(Invalid::new(
            what,
            format!(
                "{} has spaces, control or invisible characters",
                quoted(raw)
            ),
        ));
    }
    let url = Url::parse(raw)
        .map_err(|_| Invalid::new(what, format!("{} is not a web address", quoted(raw))))?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => {
            return Err(Invalid::new(
                what,
                format!(
                    "{} has no server name; it must start with https://",
                    quoted(raw)
                ),
            ))
        }
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(Invalid::new(
                what,
                format!("{} must start with https://", quoted(raw)),
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::new(
            what,
            "has a user name or password in it; addresses may not carry credentials",
        ));
    }
    if url.fragment().is_some() {
        return Err(Invalid::new(
            what,
            format!(
                "{} has a '#' part, which an address of a server may not have",
                quoted(raw)
            ),
        ));
    }
    Ok(url.to_string())
}

/// A checked HTTP header name that Keybearer may fill in.
pub fn header_name(what: &str, raw: &str) -> Result<String, Invalid> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if raw.is_empty() || raw.len() > 64 || !raw.chars().all(is_token_char) {
        return Err(Invalid::new(
            what,
            format!(
                "{} is not a header name (letters, digits and - only, at most 64)",
                quoted(raw)
            ),
        ));
    }
    if RESERVED_HEADERS.contains(&raw.to_ascii_lowercase().as_str()) {
        return Err(Invalid::new(
            what,
            format!(
                "{} is set by HTTP or MCP itself and cannot hold a secret",
                quoted(raw)
            ),
        ));
    }
    Ok(raw.to_owned())
}

/// A shipped entry's id: a lowercase slug such as `github` or `cloudflare-radar`.
pub fn shipped_id(raw: &str) -> Result<String, Invalid> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !raw.starts_with('-')
        && !raw.ends_with('-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(
            "id",
            format!("{} must be lowercase letters, digits and '-'", quoted(raw)),
        ))
    }
}

/// A registry name such as `io.github.user/server` (the registry's own pattern:
/// `namespace/name` of letters, digits, `.`, `-` and `_`).
pub fn registry_name(raw: &str) -> Result<String, Invalid> {
    let part_ok = |part: &str, extra: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || extra.contains(c))
    };
    let ok = raw.len() <= MAX_ID_CHARS
        && match raw.split_once('/') {
            Some((namespace, name)) => part_ok(namespace, "") && part_ok(name, "_"),
            None => false,
        };
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(Invalid::new(
            "registry name",
            format!("{} is not of the form namespace/name", quoted(raw)),
        ))
    }
}

#[path = "validate_entry.rs"]
mod entry_rules;
pub use entry_rules::{entry, unique};

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
