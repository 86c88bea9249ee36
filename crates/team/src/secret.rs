//! What a team credential sends: the same kinds a local credential has —
//! a bearer token, or headers of its own — checked by the same rules
//! (`keybearer_base::secret`, `keybearer_base::secret_header`), so its
//! injection is built the same way (`keybearer_source::sensitive_headers`).
//!
//! Stored form, one KV v2 secret per credential (docs/architecture.md,
//! "Team vaults"):
//! `{"url": "<normalised address>", "type": "static_bearer", "token": "…"}`
//! or `{"url": …, "type": "headers", "headers": [["X-API-Key", "…"], …]}`,
//! with an optional `"protocol"` (`streamable_http`, `sse`). OAuth grants
//! are not shared through a team server (each member signs in).

use keybearer_base::error::{Error, Result};
use keybearer_base::model::{CredentialType, Protocol};
use keybearer_base::secret::AccessToken;
use keybearer_base::secret_header::{check_headers, SecretHeader};
use keybearer_source::OpenedSecret;
use zeroize::Zeroizing;

use crate::kv::Fields;

/// A team credential's secret.
#[derive(Debug)]
pub enum TeamSecret {
    /// Sent as `Authorization: Bearer <token>`.
    Bearer(AccessToken),
    /// Sent as these headers, as they are.
    Headers(Vec<SecretHeader>),
}

impl From<AccessToken> for TeamSecret {
    fn from(token: AccessToken) -> Self {
        Self::Bearer(token)
    }
}

impl TeamSecret {
    /// Headers of one credential: one to eight, no name twice.
    pub fn headers(headers: Vec<SecretHeader>) -> Result<Self> {
        check_headers(&headers)?;
        Ok(Self::Headers(headers))
    }

    pub fn kind(&self) -> CredentialType {
        match self {
            Self::Bearer(_) => CredentialType::StaticBearer,
            Self::Headers(_) => CredentialType::Headers,
        }
    }

    /// The names of the headers it sends (no values).
    pub fn header_names(&self) -> Vec<String> {
        match self {
            Self::Bearer(_) => vec!["Authorization".to_string()],
            Self::Headers(headers) => headers.iter().map(|h| h.name().to_string()).collect(),
        }
    }

    fn pairs(&self) -> Vec<(&str, Zeroizing<String>)> {
        match self {
            Self::Bearer(token) => vec![(
                "Authorization",
                Zeroizing::new(format!("Bearer {}", token.expose())),
            )],
            Self::Headers(headers) => headers
                .iter()
                .map(|h| (h.name(), Zeroizing::new(h.expose_value().to_string())))
                .collect(),
        }
    }

    /// The headers as sensitive HTTP values, wiped when dropped.
    pub(crate) fn http_headers(&self) -> Option<Vec<(http::HeaderName, http::HeaderValue)>> {
        keybearer_source::sensitive_headers(self.pairs())
    }

    /// The secret's stored form for `url` (normalised), in a wiped buffer.
    pub(crate) fn to_kv_json(&self, url: &str, protocol: Protocol) -> Zeroizing<Vec<u8>> {
        let mut json = Zeroizing::new(Vec::with_capacity(256));
        let value = match self {
            Self::Bearer(token) => serde_json::json!({
                "url": url,
                "type": CredentialType::StaticBearer.as_str(),
                "protocol": protocol.as_str(),
                "token": token.expose(),
            }),
            Self::Headers(headers) => serde_json::json!({
                "url": url,
                "type": CredentialType::Headers.as_str(),
                "protocol": protocol.as_str(),
                "headers": headers
                    .iter()
                    .map(|h| [h.name(), h.expose_value()])
                    .collect::<Vec<_>>(),
            }),
        };
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *json, &value);
        // The `Value` holds copies of the values: wipe them.
        let mut value = value;
        wipe(&mut value);
        json
    }

    /// Reads a stored secret back; `problem` says what is wrong with it
    /// (never quoting a value).
    pub(crate) fn from_fields(fields: &mut Fields) -> Result<Self, String> {
        match fields.kind.as_deref() {
            Some("static_bearer") | Some("bearer") => {
                let token = fields.token.take().unwrap_or_default();
                AccessToken::new(token)
                    .map(Self::Bearer)
                    .map_err(|_| "its token is empty or cannot be sent in an HTTP header".into())
            }
            Some("headers") => {
                let pairs = fields.headers.take().unwrap_or_default();
                let pairs = Zeroizing::new(pairs);
                let headers = pairs
                    .iter()
                    .map(|pair| match pair.as_slice() {
                        [name, value] => SecretHeader::new(name, value.clone()).ok(),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        "its headers are not [name, value] pairs Keybearer may send".to_string()
                    })?;
                Self::headers(headers).map_err(|error| match error {
                    Error::InvalidInput { message, .. } => message,
                    other => other.to_string(),
                })
            }
            Some(other) => {
                Err(format!(
                "a credential of type \"{}\", which Keybearer does not share through a team server",
                keybearer_base::text::printable(other).chars().take(40).collect::<String>()
            ))
            }
            None => Err("a secret without a \"type\"".into()),
        }
    }
}

fn wipe(value: &mut serde_json::Value) {
    use zeroize::Zeroize;
    match value {
        serde_json::Value::String(text) => text.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe),
        serde_json::Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

/// What a team source opened, behind an injection: the sender never looks
/// inside.
impl OpenedSecret for TeamSecret {
    fn expose_for_injection(&self) -> &str {
        match self {
            Self::Bearer(token) => token.expose(),
            Self::Headers(headers) => headers.first().map_or("", SecretHeader::expose_value),
        }
    }

    fn pairs(&self) -> Vec<(&str, Zeroizing<String>)> {
        TeamSecret::pairs(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_round_trip_and_refusals_quote_no_value() {
        let headers = TeamSecret::headers(vec![
            SecretHeader::new("X-API-Key", "k-123456789".into()).expect("valid"),
            SecretHeader::new("X-Org", "acme".into()).expect("valid"),
        ])
        .expect("valid");
        let json = headers.to_kv_json("https://mcp.example.com/mcp", Protocol::StreamableHttp);
        let mut fields: Fields = serde_json::from_slice(&json).expect("json");
        assert_eq!(fields.url.as_deref(), Some("https://mcp.example.com/mcp"));
        let back = TeamSecret::from_fields(&mut fields).expect("reads back");
        assert_eq!(back.header_names(), ["X-API-Key", "X-Org"]);
        assert_eq!(back.expose_for_injection(), "k-123456789");

        let bearer = TeamSecret::from(AccessToken::new("tok-abcdefgh".into()).expect("valid"));
        let json = bearer.to_kv_json("https://x.example/mcp", Protocol::Sse);
        let mut fields: Fields = serde_json::from_slice(&json).expect("json");
        let back = TeamSecret::from_fields(&mut fields).expect("reads back");
        assert_eq!(back.kind(), CredentialType::StaticBearer);
        assert_eq!(
            back.http_headers().expect("sendable")[0].1.as_bytes(),
            b"Bearer tok-abcdefgh"
        );

        let mut bad: Fields =
            serde_json::from_str(r#"{"type":"static_bearer","token":"has space-secretvalue"}"#)
                .expect("json");
        let problem = TeamSecret::from_fields(&mut bad).expect_err("refused");
        assert!(!problem.contains("secretvalue"), "{problem}");
        let mut oauth: Fields = serde_json::from_str(r#"{"type":"mcp_oauth"}"#).expect("json");
        assert!(TeamSecret::from_fields(&mut oauth).is_err());
    }
}
