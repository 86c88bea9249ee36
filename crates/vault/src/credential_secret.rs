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
//! Header rules: `keybearer_base::secret_header` (shared with team
//! servers' credentials).

use http::header::{HeaderName, HeaderValue};
use zeroize::Zeroizing;

pub use keybearer_base::secret_header::{SecretHeader, MAX_HEADERS};

use crate::error::Result;
use crate::model::CredentialType;
use crate::secret::AccessToken;

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
        keybearer_base::secret_header::check_headers(&headers)?;
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
            Self::Headers(headers) => headers.iter().map(|h| h.name().to_string()).collect(),
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
                .map(|h| (h.name(), Zeroizing::new(h.expose_value().to_string())))
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
        keybearer_source::sensitive_headers(self.pairs())
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
                        .map(|h| 8 + 2 * (h.name().len() + h.expose_value().len()))
                        .sum::<usize>();
                let mut json = Zeroizing::new(Vec::with_capacity(size));
                let pairs: Vec<[&str; 2]> = headers
                    .iter()
                    .map(|h| [h.name(), h.expose_value()])
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
