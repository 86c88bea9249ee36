//! The authorization server's metadata (MCP authorization, step 4 of
//! `discovery.rs`): RFC 8414 at `/.well-known/oauth-authorization-server[/<path>]`,
//! then OpenID Connect discovery (path-inserted, then path-appended), with
//! the issuer checked (RFC 8414 §3.3), every endpoint held to the address
//! rule, the code flow and PKCE S256 required.
//!
//! Limits: `Ok(None)` when none of the addresses has a document (the caller
//! may then use endpoints known beforehand, `pinned.rs`); a document that is
//! there but wrong is an error.

use serde::Deserialize;
use url::Url;

use super::discovery::fetch_json;
use super::error::OAuthError;
use super::http::{check_url, shorten, Http};

/// RFC 8414 authorization server metadata (the fields sign-in uses).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AuthServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub response_types_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// RFC 8414 §3.1 and OpenID Connect discovery, in the MCP spec's order.
fn auth_server_metadata_urls(issuer: &Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// The authorization server's metadata; `Ok(None)` when none is published.
pub(crate) fn auth_server_metadata(
    http: &Http,
    issuer: &Url,
) -> Result<Option<(String, AuthServerMetadata)>, OAuthError> {
    let shown = shorten(issuer.as_str());
    let what = format!("The sign-in service at {shown}");
    let mut first_error = None;
    for candidate in auth_server_metadata_urls(issuer) {
        let url = check_url(&what, &candidate)?;
        match fetch_json::<AuthServerMetadata>(http, &what, &url) {
            Ok(Some(metadata)) => {
                validate_metadata(&what, issuer, &metadata)?;
                return Ok(Some((candidate, metadata)));
            }
            Ok(None) => {}
            Err(error @ (OAuthError::Unreachable { .. } | OAuthError::Timeout { .. })) => {
                return Err(error)
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

pub(crate) fn validate_metadata(
    what: &str,
    issuer: &Url,
    metadata: &AuthServerMetadata,
) -> Result<(), OAuthError> {
    // RFC 8414 §3.3: the issuer must be the one the metadata was asked for
    // (compared as parsed URLs: "https://a.example" and "https://a.example/" are one).
    let same = Url::parse(&metadata.issuer).is_ok_and(|found| &found == issuer);
    if !same {
        return Err(OAuthError::IssuerMismatch {
            expected: shorten(issuer.as_str()),
            found: shorten(&metadata.issuer),
        });
    }
    check_url(
        &format!("{what}'s sign-in page (authorization endpoint)"),
        &metadata.authorization_endpoint,
    )?;
    check_url(
        &format!("{what}'s token endpoint"),
        &metadata.token_endpoint,
    )?;
    if let Some(endpoint) = &metadata.registration_endpoint {
        check_url(&format!("{what}'s registration endpoint"), endpoint)?;
    }
    if let Some(endpoint) = &metadata.revocation_endpoint {
        check_url(&format!("{what}'s revocation endpoint"), endpoint)?;
    }
    if metadata
        .response_types_supported
        .as_ref()
        .is_some_and(|types| !types.iter().any(|t| t == "code"))
    {
        return Err(OAuthError::NotSupported(format!(
            "{what} does not offer the authorization code flow that MCP sign-in uses."
        )));
    }
    if !metadata
        .code_challenge_methods_supported
        .iter()
        .any(|method| method == "S256")
    {
        return Err(OAuthError::NotSupported(format!(
            "{what} does not say it supports PKCE with S256, which MCP sign-in requires, so Keybearer does not sign in there."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn well_known_addresses_insert_the_path() {
        assert_eq!(
            auth_server_metadata_urls(&url("https://as.example/tenant")),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                "https://as.example/.well-known/openid-configuration/tenant",
                "https://as.example/tenant/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            auth_server_metadata_urls(&url("https://as.example:8443/")),
            [
                "https://as.example:8443/.well-known/oauth-authorization-server",
                "https://as.example:8443/.well-known/openid-configuration"
            ]
        );
    }
}
