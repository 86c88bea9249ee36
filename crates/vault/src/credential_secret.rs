//! What a credential sends to its server: a bearer token (the default), or
//! one or more headers of its own (`X-API-Key`, `Authorization: Basic …`,
//! `Authorization: Sentry-Bearer …`). Every value is secret and write-only,
//! like a token: no `Debug` of a value, no `Serialize`, wiped when dropped.
//!
//! Sealed form (what `tokens::seal` encrypts): a bearer token is its bytes,
//! as before headers existed; headers are a JSON array of `[name, value]`
//! pairs, built and parsed in wiped buffers. The credential's `type` column
//! says which one a row holds.
//!
//! Header rules: names are HTTP field names (RFC 9110 tokens); `Host`,
//! hop-by-hop headers, `Content-*` and the MCP transport's own (`Mcp-*`,
//! `MCP-Protocol-Version`) are refused, since the proxy and the bridge set
//! those themselves. Values are visible ASCII (spaces and tabs inside),
//! one line, at most [`crate::MAX_TOKEN_BYTES`].

use std::fmt;

use http::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::CredentialType;
use crate::secret::{AccessToken, MAX_TOKEN_BYTES};

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

    pub(crate) fn expose_value(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHeader({}: <redacted>)", self.name)
    }
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

/// What a credential holds.
#[derive(Debug)]
pub enum CredentialSecret {
    /// Sent as `Authorization: Bearer <token>`.
    Bearer(AccessToken),
    /// Sent as these headers, as they are.
    Headers(Vec<SecretHeader>),
    /// An OAuth grant: its access token is sent as a bearer token, and the
    /// proxy and the bridge refresh it (`tokens::Tokens`).
    OAuth(Box<crate::oauth::StoredOAuth>),
}

impl From<AccessToken> for CredentialSecret {
    fn from(token: AccessToken) -> Self {
        Self::Bearer(token)
    }
}

impl CredentialSecret {
    /// Headers of one credential: at least one, at most [`MAX_HEADERS`], no
    /// name twice.
    pub fn headers(headers: Vec<SecretHeader>) -> Result<Self> {
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
        Ok(Self::Headers(headers))
    }

    pub fn kind(&self) -> CredentialType {
        match self {
            Self::Bearer(_) => CredentialType::StaticBearer,
            Self::Headers(_) => CredentialType::Headers,
            Self::OAuth(_) => CredentialType::McpOauth,
        }
    }

    /// The names of the headers it sends (no values).
    pub fn header_names(&self) -> Vec<String> {
        match self {
            Self::Bearer(_) | Self::OAuth(_) => vec!["Authorization".to_string()],
            Self::Headers(headers) => headers.iter().map(|h| h.name.clone()).collect(),
        }
    }

    /// `(name, value)` pairs as sent; the values are secret.
    pub(crate) fn pairs(&self) -> Vec<(&str, Zeroizing<String>)> {
        match self {
            Self::Bearer(token) => vec![(
                "Authorization",
                Zeroizing::new(format!("Bearer {}", token.expose())),
            )],
            Self::Headers(headers) => headers
                .iter()
                .map(|h| {
                    (
                        h.name.as_str(),
                        Zeroizing::new(h.expose_value().to_string()),
                    )
                })
                .collect(),
            Self::OAuth(stored) => vec![(
                "Authorization",
                Zeroizing::new(format!(
                    "Bearer {}",
                    stored.grant.access_token.expose_secret()
                )),
            )],
        }
    }

    /// The headers as HTTP values marked sensitive (never printed by
    /// `http`'s `Debug`); `None` if a value cannot be sent (a damaged row).
    /// Each value's bytes are wiped when its last clone is dropped.
    pub(crate) fn http_headers(&self) -> Option<Vec<(HeaderName, HeaderValue)>> {
        self.pairs()
            .into_iter()
            .map(|(name, value)| {
                let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
                let mut bytes = Zeroizing::new(Vec::with_capacity(value.len()));
                bytes.extend_from_slice(value.as_bytes());
                let mut value =
                    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(bytes)).ok()?;
                value.set_sensitive(true);
                Some((name, value))
            })
            .collect()
    }

    /// The plaintext `tokens::seal` encrypts.
    pub(crate) fn to_sealable(&self) -> Zeroizing<Vec<u8>> {
        match self {
            // Serialising owned strings cannot fail; an empty blob would not
            // open, so a failure here surfaces as an integrity error.
            Self::OAuth(stored) => stored.to_sealed_json().unwrap_or_default(),
            Self::Bearer(token) => Zeroizing::new(token.expose().as_bytes().to_vec()),
            Self::Headers(headers) => {
                let size = 16
                    + headers
                        .iter()
                        .map(|h| 8 + 2 * (h.name.len() + h.expose_value().len()))
                        .sum::<usize>();
                let mut json = Zeroizing::new(Vec::with_capacity(size));
                let pairs: Vec<[&str; 2]> = headers
                    .iter()
                    .map(|h| [h.name.as_str(), h.expose_value()])
                    .collect();
                // Writing strings into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *json, &pairs);
                json
            }
        }
    }

    /// Reads back what [`CredentialSecret::to_sealable`] made; `None` when it
    /// is not a valid secret of `kind`.
    pub(crate) fn from_opened(kind: CredentialType, plain: &[u8]) -> Option<Self> {
        match kind {
            CredentialType::StaticBearer => {
                let text = std::str::from_utf8(plain).ok()?;
                AccessToken::new(text.to_string()).ok().map(Self::Bearer)
            }
            CredentialType::Headers => {
                let pairs: Zeroizing<Vec<[String; 2]>> =
                    Zeroizing::new(serde_json::from_slice(plain).ok()?);
                let headers = pairs
                    .iter()
                    .map(|[name, value]| SecretHeader::new(name, value.clone()).ok())
                    .collect::<Option<Vec<_>>>()?;
                Self::headers(headers).ok()
            }
            CredentialType::McpOauth => crate::oauth::StoredOAuth::from_sealed_json(plain)
                .ok()
                .map(|stored| Self::OAuth(Box::new(stored))),
        }
    }
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
        let twice = CredentialSecret::headers(vec![
            SecretHeader::new("X-API-Key", "a".into()).expect("valid"),
            SecretHeader::new("x-api-key", "b".into()).expect("valid"),
        ]);
        assert!(twice.is_err());
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

    #[test]
    fn sealed_forms_round_trip() {
        let headers = CredentialSecret::headers(vec![
            SecretHeader::new("X-API-Key", "k-1".into()).expect("valid"),
            SecretHeader::new("X-Org", "o \"2\"".into()).expect("valid"),
        ])
        .expect("valid");
        let plain = headers.to_sealable();
        let back = CredentialSecret::from_opened(CredentialType::Headers, &plain).expect("opens");
        let pairs: Vec<(String, String)> = back
            .pairs()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("X-API-Key".to_string(), "k-1".to_string()),
                ("X-Org".to_string(), "o \"2\"".to_string())
            ]
        );
        let bearer = CredentialSecret::from(AccessToken::new("tok".into()).expect("valid"));
        let plain = bearer.to_sealable();
        assert_eq!(&plain[..], b"tok");
        assert!(CredentialSecret::from_opened(CredentialType::Headers, b"tok").is_none());
    }
}

/// Input for a new credential; the secret is validated and sealed by the engine.
#[derive(Debug)]
pub struct NewCredential {
    pub mcp_server_url: String,
    pub protocol: Option<crate::model::Protocol>,
    /// A bearer token (`AccessToken::into()`) or headers.
    pub secret: CredentialSecret,
}
