//! The one way a sign-in's secrets are serialised: [`StoredOAuth`] as JSON
//! in a `Zeroizing` buffer, for the vault to seal as one blob (and nothing
//! else: the secret types have no `Serialize`).
//!
//! ```json
//! {"v":1,"server_url":"…","resource":"…",
//!  "client":{"client_id":"…","client_secret":null,"token_endpoint_auth":"none",
//!            "issuer":"…","authorization_endpoint":"…","token_endpoint":"…",
//!            "revocation_endpoint":"…","source":"dynamic","redirect_uri":"…"},
//!  "grant":{"access_token":"…","token_type":"Bearer","expires_at":1767225600,
//!           "refresh_token":"…","scope":"mcp"}}
//! ```
//!
//! Writing measures the JSON first and then writes it into a buffer of
//! exactly that size, so no reallocation leaves a copy behind. Reading moves
//! the parsed strings into the secret types without copying them (serde_json
//! copies a string with escapes through its scratch buffer, which is not
//! zeroised; tokens have no characters that need escaping). Errors never
//! quote the blob.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::OAuthError;
use super::{
    ClientRegistration, OAuthGrant, OAuthSecret, RegistrationSource, StoredOAuth, TokenEndpointAuth,
};

const VERSION: u32 = 1;

#[derive(Serialize)]
struct SealedRef<'a> {
    v: u32,
    server_url: &'a str,
    resource: &'a str,
    client: ClientRef<'a>,
    grant: GrantRef<'a>,
}

#[derive(Serialize)]
struct ClientRef<'a> {
    client_id: &'a str,
    client_secret: Option<&'a str>,
    token_endpoint_auth: &'static str,
    issuer: &'a str,
    authorization_endpoint: &'a str,
    token_endpoint: &'a str,
    revocation_endpoint: Option<&'a str>,
    source: &'static str,
    redirect_uri: Option<&'a str>,
}

#[derive(Serialize)]
struct GrantRef<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_at: Option<i64>,
    obtained_at: Option<i64>,
    refresh_token: Option<&'a str>,
    scope: Option<&'a str>,
}

#[derive(Deserialize)]
struct Sealed {
    v: u32,
    server_url: String,
    resource: String,
    client: SealedClient,
    grant: SealedGrant,
}

#[derive(Deserialize)]
struct SealedClient {
    client_id: String,
    client_secret: Option<String>,
    token_endpoint_auth: String,
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: Option<String>,
    source: String,
    redirect_uri: Option<String>,
}

#[derive(Deserialize)]
struct SealedGrant {
    access_token: String,
    token_type: String,
    expires_at: Option<i64>,
    #[serde(default)]
    obtained_at: Option<i64>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// Counts what would be written.
struct Measure(usize);

impl std::io::Write for Measure {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl StoredOAuth {
    /// The sign-in as JSON, secrets included, for the vault to seal. The
    /// buffer is wiped when dropped.
    pub fn to_sealed_json(&self) -> Result<Zeroizing<Vec<u8>>, OAuthError> {
        let registration = &self.registration;
        let grant = &self.grant;
        let sealed = SealedRef {
            v: VERSION,
            server_url: &self.server_url,
            resource: &self.resource,
            client: ClientRef {
                client_id: &registration.client_id,
                client_secret: registration
                    .client_secret
                    .as_ref()
                    .map(OAuthSecret::expose_secret),
                token_endpoint_auth: registration.token_endpoint_auth.as_str(),
                issuer: &registration.issuer,
                authorization_endpoint: &registration.authorization_endpoint,
                token_endpoint: &registration.token_endpoint,
                revocation_endpoint: registration.revocation_endpoint.as_deref(),
                source: registration.source.as_str(),
                redirect_uri: registration.redirect_uri.as_deref(),
            },
            grant: GrantRef {
                access_token: grant.access_token.expose_secret(),
                token_type: &grant.token_type,
                expires_at: grant.expires_at,
                obtained_at: grant.obtained_at,
                refresh_token: grant.refresh_token.as_ref().map(OAuthSecret::expose_secret),
                scope: grant.scope.as_deref(),
            },
        };
        let failed = |_| OAuthError::Stored("it could not be written".to_string());
        let mut measure = Measure(0);
        serde_json::to_writer(&mut measure, &sealed).map_err(failed)?;
        let mut buffer = Zeroizing::new(Vec::with_capacity(measure.0));
        serde_json::to_writer(&mut *buffer, &sealed).map_err(failed)?;
        Ok(buffer)
    }

    /// Reads back what [`StoredOAuth::to_sealed_json`] wrote.
    pub fn from_sealed_json(bytes: &[u8]) -> Result<Self, OAuthError> {
        let sealed: Sealed = serde_json::from_slice(bytes).map_err(|error| {
            // Only the position: serde_json's messages may quote a value.
            OAuthError::Stored(format!(
                "it is damaged near line {} column {}",
                error.line(),
                error.column()
            ))
        })?;
        if sealed.v != VERSION {
            return Err(OAuthError::Stored(format!(
                "it was written by another version of Keybearer (format {})",
                sealed.v
            )));
        }
        let Sealed {
            v: _,
            server_url,
            resource,
            client,
            grant,
        } = sealed;
        let token_endpoint_auth = TokenEndpointAuth::parse(&client.token_endpoint_auth)
            .ok_or_else(|| OAuthError::Stored("its client authentication is unknown".into()))?;
        let source = match client.source.as_str() {
            "pre_registered" => RegistrationSource::PreRegistered,
            "dynamic" => RegistrationSource::Dynamic,
            _ => return Err(OAuthError::Stored("its client source is unknown".into())),
        };
        Ok(Self {
            server_url,
            resource,
            registration: ClientRegistration {
                client_id: client.client_id,
                client_secret: client.client_secret.map(OAuthSecret::new),
                token_endpoint_auth,
                issuer: client.issuer,
                authorization_endpoint: client.authorization_endpoint,
                token_endpoint: client.token_endpoint,
                revocation_endpoint: client.revocation_endpoint,
                source,
                redirect_uri: client.redirect_uri,
            },
            grant: OAuthGrant {
                access_token: OAuthSecret::new(grant.access_token),
                token_type: grant.token_type,
                expires_at: grant.expires_at,
                obtained_at: grant.obtained_at,
                refresh_token: grant.refresh_token.map(OAuthSecret::new),
                scope: grant.scope,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> StoredOAuth {
        StoredOAuth {
            server_url: "https://mcp.example/mcp".into(),
            resource: "https://mcp.example/mcp".into(),
            registration: ClientRegistration {
                client_id: "client-1".into(),
                client_secret: Some(OAuthSecret::new("cs_secret".into())),
                token_endpoint_auth: TokenEndpointAuth::ClientSecretBasic,
                issuer: "https://as.example".into(),
                authorization_endpoint: "https://as.example/authorize".into(),
                token_endpoint: "https://as.example/token".into(),
                revocation_endpoint: None,
                source: RegistrationSource::PreRegistered,
                redirect_uri: None,
            },
            grant: OAuthGrant {
                access_token: OAuthSecret::new("at_secret".into()),
                token_type: "Bearer".into(),
                expires_at: Some(1_767_225_600),
                obtained_at: Some(1_767_222_000),
                refresh_token: Some(OAuthSecret::new("rt_secret".into())),
                scope: Some("mcp admin".into()),
            },
        }
    }

    #[test]
    fn round_trips_exactly() {
        let original = stored();
        let bytes = original.to_sealed_json().expect("json");
        assert_eq!(bytes.len(), bytes.capacity(), "sized up front");
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        assert!(text.contains("\"access_token\":\"at_secret\""), "{text}");
        assert_eq!(
            StoredOAuth::from_sealed_json(&bytes).expect("read"),
            original
        );
    }

    #[test]
    fn damaged_blobs_are_refused_without_quoting_them() {
        let bytes = stored().to_sealed_json().expect("json");
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        let damaged = text.replace("\"expires_at\":1767225600", "\"expires_at\":\"at_secret\"");
        let error = StoredOAuth::from_sealed_json(damaged.as_bytes()).expect_err("damaged");
        assert_eq!(error.code(), "oauth_stored");
        assert!(!error.to_string().contains("at_secret"), "{error}");
        let future = text.replace("\"v\":1", "\"v\":2");
        assert!(StoredOAuth::from_sealed_json(future.as_bytes())
            .expect_err("newer")
            .to_string()
            .contains("another version"));
    }
}
