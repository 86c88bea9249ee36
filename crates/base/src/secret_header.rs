//! A credential's own headers (`X-API-Key`, `Authorization: Basic …`,
//! `Authorization: Sentry-Bearer …`), for every source of credentials (the
//! local store, a team server): each value is secret and write-only, like a
//! token: no `Debug` of a value, no `Serialize`, wiped when dropped.
//!
//! Rules: names are HTTP field names (RFC 9110 tokens); `Host`, hop-by-hop
//! headers, `Content-*` and the MCP transport's own (`Mcp-*`,
//! `MCP-Protocol-Version`) are refused, since the proxy and the bridge set
//! those themselves. Values are visible ASCII (spaces and tabs inside),
//! one line, at most [`MAX_TOKEN_BYTES`]. A credential has one to
//! [`MAX_HEADERS`] of them, no name twice ([`check_headers`]).

use std::fmt;

use http::header::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::MAX_TOKEN_BYTES;

/// At most this many headers per credential.
pub const MAX_HEADERS: usize = 8;

/// Header names the proxy and the bridge own (lower case).
const REFUSED: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "accept",
    "accept-encoding",
    "last-event-id",
];

/// One header of a credential: its name, and its value, secret.
pub struct SecretHeader {
    name: String,
    value: SecretString,
}

impl SecretHeader {
    /// Validates a header typed by the user. Errors never quote the value.
    pub fn new(name: &str, value: String) -> Result<Self> {
        let value = SecretString::from(value);
        let name = check_name(name)?;
        check_value(&name, value.expose_secret())?;
        Ok(Self { name, value })
    }

    /// `Authorization: Basic base64(user:secret)` (RFC 7617), e.g. Atlassian's
    /// `email:api-token`.
    pub fn basic(user: &str, secret: &str) -> Result<Self> {
        let user = user.trim();
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            return Err(Error::invalid(
                "user",
                "Type the user name (for Atlassian: your e-mail address); it cannot contain a colon.",
            ));
        }
        if secret.is_empty() || secret.contains(['\n', '\r']) {
            return Err(Error::invalid(
                "secret",
                "The password or API token is empty or has a line break. Paste it as one line.",
            ));
        }
        let pair = Zeroizing::new(format!("{user}:{secret}"));
        let encoded = Zeroizing::new(data_encoding::BASE64.encode(pair.as_bytes()));
        Self::new("Authorization", format!("Basic {}", encoded.as_str()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, for the code that sends or seals it; nothing that
    /// displays, logs or serialises data may call it.
    pub fn expose_value(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHeader({}: <redacted>)", self.name)
    }
}

/// One to [`MAX_HEADERS`] headers, no name twice (any case).
pub fn check_headers(headers: &[SecretHeader]) -> Result<()> {
    if headers.is_empty() {
        return Err(Error::invalid("headers", "Add at least one header."));
    }
    if headers.len() > MAX_HEADERS {
        return Err(Error::invalid(
            "headers",
            format!("A credential can send at most {MAX_HEADERS} headers."),
        ));
    }
    for (at, header) in headers.iter().enumerate() {
        if headers[..at]
            .iter()
            .any(|earlier| earlier.name.eq_ignore_ascii_case(&header.name))
        {
            return Err(Error::invalid(
                "headers",
                format!(
                    "The header {} is listed twice. List each header once.",
                    header.name
                ),
            ));
        }
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    let invalid = |message: String| Err(Error::invalid("header_name", message));
    if name.is_empty() {
        return invalid("The header name is empty. Type it as the server's documentation writes it, like X-API-Key.".into());
    }
    if HeaderName::from_bytes(name.as_bytes()).is_err() {
        return invalid(format!(
            "\"{name}\" is not a valid header name: use letters, digits and dashes, like X-API-Key."
        ));
    }
    let lower = name.to_ascii_lowercase();
    if REFUSED.contains(&lower.as_str())
        || lower.starts_with("content-")
        || lower.starts_with("mcp-")
    {
        return invalid(format!(
            "Keybearer sets the \"{name}\" header itself, so a credential cannot. Check which header your server expects."
        ));
    }
    Ok(name.to_string())
}

fn check_value(name: &str, value: &str) -> Result<()> {
    let invalid = |message: String| Err(Error::invalid("header_value", message));
    if value.trim().is_empty() {
        return invalid(format!(
            "The value of {name} is empty. Paste it from your server's settings."
        ));
    }
    if value.len() > MAX_TOKEN_BYTES {
        return invalid(format!(
            "The value of {name} is longer than 16 KiB; check what you pasted."
        ));
    }
    if value.contains(['\n', '\r']) {
        return invalid(format!(
            "The value of {name} contains a line break. Paste it as a single line."
        ));
    }
    if value != value.trim()
        || !value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return invalid(format!(
            "The value of {name} has spaces at its ends or characters an HTTP header cannot carry (only plain ASCII). Copy it again."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_and_values_are_checked_without_echoing_values() {
        for name in [
            "Host",
            "content-type",
            "Transfer-Encoding",
            "Mcp-Session-Id",
            "bad name",
            "",
            "Ä",
        ] {
            assert!(SecretHeader::new(name, "v".into()).is_err(), "{name}");
        }
        for value in ["", " padded", "line\nbreak", "tök"] {
            let error = SecretHeader::new("X-API-Key", value.into()).expect_err("refused");
            if !value.trim().is_empty() {
                assert!(!error.to_string().contains(value.trim()), "{error}");
            }
        }
        assert!(SecretHeader::new("X-API-Key", "abc 123\tx".into()).is_ok());
        let twice = [
            SecretHeader::new("X-API-Key", "a".into()).expect("valid"),
            SecretHeader::new("x-api-key", "b".into()).expect("valid"),
        ];
        assert!(check_headers(&twice).is_err());
        assert!(check_headers(&[]).is_err());
    }

    #[test]
    fn basic_is_rfc_7617() {
        let header = SecretHeader::basic("Aladdin", "open sesame").expect("valid");
        assert_eq!(header.name(), "Authorization");
        assert_eq!(header.expose_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(SecretHeader::basic("a:b", "x").is_err());
        assert_eq!(
            format!("{header:?}"),
            "SecretHeader(Authorization: <redacted>)"
        );
    }
}
