//! Checks that every catalog entry passes before anyone sees it, whether it
//! comes from the shipped file or from the MCP Registry.
//!
//! Flow: the loaders build text and addresses with [`text`], [`web_address`],
//! [`header_name`] and friends (which also normalise them), then run
//! [`entry`] on the finished [`Entry`] and [`unique`] on the whole list.
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

use crate::model::{Entry, Origin, SignIn, SignInKind};

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

fn scope_list(what: &str, items: &[String], allow_spaces: bool) -> Result<(), Invalid> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(Invalid::new(
            what,
            format!(
                "has {} items; at most {MAX_LIST_ITEMS} are allowed",
                items.len()
            ),
        ));
    }
    for item in items {
        let checked = text(what, item, MAX_ITEM_CHARS)?;
        if checked != *item || (!allow_spaces && item.contains(' ')) {
            return Err(Invalid::new(
                what,
                format!("{} is not a single scope", quoted(item)),
            ));
        }
    }
    Ok(())
}

fn same(what: &str, value: &str, checked: Result<String, Invalid>) -> Result<(), Invalid> {
    let checked = checked?;
    if checked == value {
        Ok(())
    } else {
        Err(Invalid::new(
            what,
            format!("{} is not in its normal form", quoted(value)),
        ))
    }
}

fn sign_in(sign_in: &SignIn) -> Result<(), Invalid> {
    match sign_in {
        SignIn::Oauth { scopes } => scope_list("OAuth scopes", scopes, false),
        SignIn::OauthClient {
            client_page,
            scopes,
            authorize_url,
            token_url,
            ..
        } => {
            same(
                "OAuth app page",
                client_page,
                web_address("OAuth app page", client_page),
            )?;
            scope_list("OAuth scopes", scopes, false)?;
            for (what, value) in [
                ("authorize address", authorize_url),
                ("token address", token_url),
            ] {
                if let Some(value) = value {
                    same(what, value, web_address(what, value))?;
                }
            }
            Ok(())
        }
        SignIn::Token {
            token_page,
            permissions,
            header,
        } => {
            same(
                "token page",
                token_page,
                web_address("token page", token_page),
            )?;
            scope_list("permissions", permissions, true)?;
            match header {
                Some(name) => same("token header", name, header_name("token header", name)),
                None => Ok(()),
            }
        }
        SignIn::Header { headers } => {
            if headers.is_empty() || headers.len() > MAX_HEADERS {
                return Err(Invalid::new(
                    "headers",
                    format!("{} headers; 1 to {MAX_HEADERS} are allowed", headers.len()),
                ));
            }
            let mut seen: Vec<String> = Vec::new();
            for field in headers {
                same("header", &field.name, header_name("header", &field.name))?;
                let lower = field.name.to_ascii_lowercase();
                if seen.contains(&lower) {
                    return Err(Invalid::new(
                        "header",
                        format!("{} is listed twice", quoted(&field.name)),
                    ));
                }
                seen.push(lower);
                if let Some(description) = &field.description {
                    same(
                        "header description",
                        description,
                        text("header description", description, MAX_DESCRIPTION_CHARS),
                    )?;
                }
            }
            Ok(())
        }
        SignIn::Discover => Ok(()),
    }
}

/// Every rule that applies to one entry.
pub fn entry(entry: &Entry) -> Result<(), Invalid> {
    entry_rules(entry).map_err(|invalid| invalid.within(&entry.id))
}

fn entry_rules(entry: &Entry) -> Result<(), Invalid> {
    match entry.origin {
        Origin::Shipped => same("id", &entry.id, shipped_id(&entry.id))?,
        Origin::Registry => {
            let checked = registry_name(&entry.id)?;
            if checked != checked.to_ascii_lowercase() {
                return Err(Invalid::new("id", "must be lowercase"));
            }
        }
    }
    if let Some(name) = &entry.registry_name {
        registry_name(name)?;
    }
    same(
        "name",
        &entry.name,
        text("name", &entry.name, MAX_NAME_CHARS),
    )?;
    same(
        "purpose",
        &entry.purpose,
        text("purpose", &entry.purpose, MAX_PURPOSE_CHARS),
    )?;
    if let Some(docs) = &entry.docs {
        same("docs", docs, web_address("docs", docs))?;
    }
    if entry.initials.is_empty() || entry.initials.chars().count() > 2 {
        return Err(Invalid::new("initials", "must be one or two characters"));
    }
    same(
        "initials",
        &entry.initials,
        text("initials", &entry.initials, 2),
    )?;
    let color_ok = entry.color.len() == 7
        && entry.color.starts_with('#')
        && entry.color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !color_ok {
        return Err(Invalid::new(
            "color",
            format!("{} is not #rrggbb", quoted(&entry.color)),
        ));
    }

    if entry.sign_in.is_empty() || entry.sign_in.len() > MAX_SIGN_INS {
        return Err(Invalid::new(
            "sign-in",
            format!(
                "{} ways to sign in; 1 to {MAX_SIGN_INS} are allowed",
                entry.sign_in.len()
            ),
        ));
    }
    let mut kinds: Vec<SignInKind> = Vec::new();
    for way in &entry.sign_in {
        if kinds.contains(&way.kind()) {
            return Err(Invalid::new(
                "sign-in",
                format!("{} is listed twice", way.kind().as_str()),
            ));
        }
        kinds.push(way.kind());
        sign_in(way)?;
    }

    if entry.remotes.is_empty() || entry.remotes.len() > MAX_REMOTES {
        return Err(Invalid::new(
            "addresses",
            format!(
                "{} addresses; 1 to {MAX_REMOTES} are allowed",
                entry.remotes.len()
            ),
        ));
    }
    for remote in &entry.remotes {
        same("address", &remote.url, web_address("address", &remote.url))?;
        if let Some(kind) = remote.for_sign_in.iter().find(|kind| !kinds.contains(kind)) {
            return Err(Invalid::new(
                "address",
                format!(
                    "is for sign-in {}, which the entry does not offer",
                    kind.as_str()
                ),
            ));
        }
    }
    if let Some(kind) = kinds
        .iter()
        .find(|kind| entry.remotes_for(**kind).next().is_none())
    {
        return Err(Invalid::new(
            "sign-in",
            format!("{} has no address to use it with", kind.as_str()),
        ));
    }
    Ok(())
}

/// Ids and addresses are unique across the whole list (and within an entry).
pub fn unique(entries: &[Entry]) -> Result<(), Invalid> {
    let mut ids = std::collections::HashSet::new();
    let mut urls = std::collections::HashSet::new();
    for entry in entries {
        if !ids.insert(entry.id.as_str()) {
            return Err(Invalid::new(
                format!("entry {}", quoted(&entry.id)),
                "the id is used twice",
            ));
        }
        for remote in &entry.remotes {
            if !urls.insert(remote.url.as_str()) {
                return Err(Invalid::new(
                    format!("entry {}", quoted(&entry.id)),
                    format!("the address {} is used twice", quoted(&remote.url)),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> Result<String, String> {
        web_address("address", raw).map_err(|invalid| invalid.problem)
    }

    #[test]
    fn https_addresses_pass_and_are_normalised() {
        assert_eq!(
            address("https://MCP.Example.com:443/mcp").as_deref(),
            Ok("https://mcp.example.com/mcp")
        );
        assert_eq!(
            address("https://mcp.stripe.com").as_deref(),
            Ok("https://mcp.stripe.com/")
        );
        assert!(address("https://mcp.supabase.com/mcp?read_only=true").is_ok());
    }

    #[test]
    fn plain_http_only_to_this_computer() {
        assert!(address("http://127.0.0.1:8080/mcp").is_ok());
        assert!(address("http://localhost:8080/mcp").is_ok());
        assert!(address("http://[::1]:8080/mcp").is_ok());
        assert!(address("http://example.com/mcp").is_err());
        assert!(address("http://127.0.0.2/mcp").is_err());
        assert!(address("http://localhost.example.com/mcp").is_err());
    }

    #[test]
    fn hostile_addresses_are_refused() {
        for raw in [
            "javascript:alert(1)",
            "JavaScript://example.com/%0aalert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "ftp://example.com/",
            "https://user:pass@example.com/mcp",
            "https://token@example.com/mcp",
            "https://example.com/mcp#frag",
            "https://example.com/mcp#",
            "https://exa mple.com/",
            "https://example.com/\u{202E}pm",
            "//example.com/mcp",
            "example.com/mcp",
            "",
        ] {
            assert!(address(raw).is_err(), "{raw:?} passed");
        }
        assert!(address(&format!(
            "https://example.com/{}",
            "a".repeat(MAX_URL_BYTES)
        ))
        .is_err());
    }

    #[test]
    fn text_must_be_printable_and_bounded() {
        assert_eq!(text("name", "  GitHub ", 80).as_deref(), Ok("GitHub"));
        assert!(text("name", "", 80).is_err());
        assert!(text("name", "   ", 80).is_err());
        assert!(text("name", "Git\u{7}Hub", 80).is_err());
        assert!(text("name", "Git\nHub", 80).is_err());
        assert!(text("name", "Git\u{202E}buH", 80).is_err());
        assert!(text("name", "Git\u{2066}Hub\u{2069}", 80).is_err());
        assert!(text("name", "Git\u{200B}Hub", 80).is_err());
        assert!(text("name", "Git\u{9B}Hub", 80).is_err());
        assert!(text("name", &"é".repeat(80), 80).is_ok());
        assert!(text("name", &"é".repeat(81), 80).is_err());
        assert!(text("name", "Café 日本", 80).is_ok());
    }

    #[test]
    fn header_names_are_tokens_and_not_reserved() {
        assert!(header_name("h", "X-Api-Key").is_ok());
        assert!(header_name("h", "Authorization").is_ok());
        for raw in [
            "",
            "X Api",
            "X-Api:",
            "Host",
            "content-length",
            "Mcp-Session-Id",
            "X-\u{e9}",
        ] {
            assert!(header_name("h", raw).is_err(), "{raw:?} passed");
        }
    }

    #[test]
    fn ids_and_registry_names() {
        assert!(shipped_id("cloudflare-radar").is_ok());
        for raw in ["GitHub", "git hub", "-x", "x-", "", "a/b"] {
            assert!(shipped_id(raw).is_err(), "{raw:?} passed");
        }
        assert!(registry_name("io.github.user/my_server").is_ok());
        for raw in ["noslash", "/x", "x/", "a/b/c", "a b/c", "a/<b>"] {
            assert!(registry_name(raw).is_err(), "{raw:?} passed");
        }
    }

    #[test]
    fn messages_clip_and_escape_hostile_values() {
        let long = format!("\u{1b}[31m{}", "x".repeat(100));
        let message = quoted(&long);
        assert!(message.chars().count() < 75, "{message}");
        assert!(!message.contains('\u{1b}'), "{message}");
        assert!(message.ends_with('…'), "{message}");
    }
}
