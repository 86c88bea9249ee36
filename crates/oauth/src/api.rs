//! API parity: an OAuth credential given in the shape the hosted vault APIs
//! use for `mcp_oauth` (Claude Managed Agents, OpenAI's Agents API), for
//! people who already hold such tokens:
//!
//! ```json
//! {"type": "mcp_oauth", "access_token": "…", "expires_at": "2026-12-01T10:00:00Z",
//!  "refresh": {"client_id": "…", "refresh_token": "…", "scope": "…",
//!              "token_endpoint": "https://auth.example.com/token",
//!              "token_endpoint_auth": {"type": "none" | "client_secret_basic"
//!                                      | "client_secret_post", "client_secret": "…"}}}
//! ```
//!
//! `expires_at` may be RFC 3339 or Unix seconds, or absent; `refresh` may
//! be absent (then the token is used until it stops working). The token
//! endpoint must pass Keybearer's address rule. Errors never quote values.
//! Secrets are moved (not copied) from the parsed strings into
//! `OAuthSecret`s, which wipe them; the JSON text itself is the caller's.

use serde::Deserialize;

use super::{
    ClientRegistration, OAuthError, OAuthGrant, OAuthSecret, RegistrationSource, StoredOAuth,
    TokenEndpointAuth,
};

#[derive(Deserialize)]
struct Given {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    access_token: String,
    #[serde(default)]
    expires_at: Option<serde_json::Value>,
    #[serde(default)]
    refresh: Option<Refresh>,
}

#[derive(Deserialize)]
struct Refresh {
    client_id: String,
    refresh_token: String,
    token_endpoint: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    token_endpoint_auth: Option<Auth>,
}

#[derive(Deserialize)]
struct Auth {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    client_secret: Option<String>,
}

impl StoredOAuth {
    /// Reads the hosted APIs' `mcp_oauth` fields for the server `server_url`.
    pub fn from_api_json(server_url: &str, json: &[u8]) -> Result<Self, OAuthError> {
        let given: Given = serde_json::from_slice(json).map_err(|error| {
            OAuthError::invalid(
                "json",
                format!(
                    "The credential JSON could not be read (line {}, column {}). Give access_token, and optionally expires_at and refresh {{client_id, refresh_token, token_endpoint}}.",
                    error.line(),
                    error.column()
                ),
            )
        })?;
        if given
            .kind
            .as_deref()
            .is_some_and(|kind| kind != "mcp_oauth")
        {
            return Err(OAuthError::invalid(
                "type",
                "Only \"mcp_oauth\" credentials are read this way; give a bearer token with `credential add`.",
            ));
        }
        if given.access_token.trim().is_empty() {
            return Err(OAuthError::invalid(
                "access_token",
                "access_token is empty.",
            ));
        }
        let expires_at = match given.expires_at {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(seconds)) => seconds.as_i64(),
            Some(serde_json::Value::String(text)) => Some(
                time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        OAuthError::invalid(
                            "expires_at",
                            "expires_at is neither an RFC 3339 time (2026-12-01T10:00:00Z) nor Unix seconds.",
                        )
                    })?
                    .unix_timestamp(),
            ),
            Some(_) => {
                return Err(OAuthError::invalid(
                    "expires_at",
                    "expires_at is neither an RFC 3339 time nor Unix seconds.",
                ))
            }
        };
        let (registration, refresh_token, scope) = match given.refresh {
            Some(refresh) => {
                super::http::check_url("token endpoint", &refresh.token_endpoint)?;
                let (auth, secret) = match refresh.token_endpoint_auth {
                    None => (TokenEndpointAuth::None, None),
                    Some(auth) => {
                        let kind = match auth.kind.as_str() {
                            "none" => TokenEndpointAuth::None,
                            "client_secret_basic" => TokenEndpointAuth::ClientSecretBasic,
                            "client_secret_post" => TokenEndpointAuth::ClientSecretPost,
                            _ => {
                                return Err(OAuthError::invalid(
                                    "token_endpoint_auth",
                                    "token_endpoint_auth.type must be none, client_secret_basic or client_secret_post.",
                                ))
                            }
                        };
                        let secret = auth.client_secret.map(OAuthSecret::new);
                        if kind != TokenEndpointAuth::None && secret.is_none() {
                            return Err(OAuthError::invalid(
                                "client_secret",
                                "This token_endpoint_auth needs a client_secret.",
                            ));
                        }
                        (kind, secret)
                    }
                };
                let registration = ClientRegistration {
                    client_id: refresh.client_id,
                    client_secret: secret,
                    token_endpoint_auth: auth,
                    issuer: String::new(),
                    authorization_endpoint: String::new(),
                    token_endpoint: refresh.token_endpoint,
                    revocation_endpoint: None,
                    source: RegistrationSource::PreRegistered,
                    redirect_uri: None,
                };
                (
                    registration,
                    Some(OAuthSecret::new(refresh.refresh_token)),
                    refresh.scope,
                )
            }
            None => (
                ClientRegistration {
                    client_id: String::new(),
                    client_secret: None,
                    token_endpoint_auth: TokenEndpointAuth::None,
                    issuer: String::new(),
                    authorization_endpoint: String::new(),
                    token_endpoint: String::new(),
                    revocation_endpoint: None,
                    source: RegistrationSource::PreRegistered,
                    redirect_uri: None,
                },
                None,
                None,
            ),
        };
        Ok(StoredOAuth {
            server_url: server_url.to_string(),
            resource: server_url.to_string(),
            registration,
            grant: OAuthGrant {
                access_token: OAuthSecret::new(given.access_token),
                token_type: "Bearer".to_string(),
                expires_at,
                obtained_at: None,
                refresh_token,
                scope,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosted_apis_fields_are_read() {
        let json = br#"{"type":"mcp_oauth","access_token":"at-1","expires_at":"2026-12-01T10:00:00Z",
            "refresh":{"client_id":"c","refresh_token":"rt-1","token_endpoint":"https://auth.example.com/token",
                       "token_endpoint_auth":{"type":"client_secret_post","client_secret":"cs"}}}"#;
        let stored = StoredOAuth::from_api_json("https://mcp.example.com/mcp", json).expect("read");
        assert_eq!(stored.grant.access_token.expose_secret(), "at-1");
        assert_eq!(stored.grant.expires_at, Some(1_796_119_200));
        assert_eq!(
            stored.registration.token_endpoint_auth,
            TokenEndpointAuth::ClientSecretPost
        );
        let plain = StoredOAuth::from_api_json(
            "https://mcp.example.com/mcp",
            br#"{"access_token":"a","expires_at":1700000000}"#,
        )
        .expect("read");
        assert_eq!(plain.grant.expires_at, Some(1_700_000_000));
        assert!(plain.grant.refresh_token.is_none());
    }

    #[test]
    fn bad_fields_are_refused_without_quoting_secrets() {
        for json in [
            r#"{"access_token":"secret-1","refresh":{"client_id":"c","refresh_token":"secret-2","token_endpoint":"http://auth.example.com/token"}}"#,
            r#"{"access_token":"secret-1","expires_at":"tomorrow"}"#,
            r#"{"access_token":"secret-1","refresh":{"client_id":"c","refresh_token":"secret-2","token_endpoint":"https://a.example/t","token_endpoint_auth":{"type":"client_secret_basic"}}}"#,
            r#"{"type":"static_bearer","access_token":"secret-1"}"#,
            r#"{"access_token": "secret-1""#,
        ] {
            let error = StoredOAuth::from_api_json("https://mcp.example.com/mcp", json.as_bytes())
                .expect_err(json);
            assert!(!error.to_string().contains("secret-"), "{error}");
        }
    }
}
