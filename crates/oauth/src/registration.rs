//! Which client Keybearer signs in as, in the MCP spec's order: a client ID
//! the user supplies (registered with the service beforehand), else dynamic
//! client registration (RFC 7591) as a native public client with a loopback
//! redirect; otherwise the user is told plainly that neither is possible.
//! (Client ID metadata documents need an https address for Keybearer's own
//! document; not offered.)
//!
//! A registration names the sign-in's scopes only as `scope.rs` allows
//! (every one listed in the service's `scopes_supported`, or none listed).
//! When a registration that named them is refused with
//! `invalid_client_metadata`, it is sent once more without `scope`: a
//! refused registration created nothing at the service, the scope is
//! optional there (RFC 7591 §2; the authorization request asks for it
//! anyway), and strict servers that list no scopes refuse any they do not
//! know. Any other refusal, or the second one, is the user's answer.

use serde::Deserialize;
use url::Url;

use super::discovery::Discovery;
use super::error::{error_reason, OAuthError};
use super::http::{check_url, Answer, Http, Payload, MAX_ANSWER};
use super::scope::registration_scope;
use super::{ClientRegistration, OAuthSecret, RegistrationSource, TokenEndpointAuth};

/// A client registered with the service beforehand, as the user enters it.
#[derive(Clone, Debug)]
pub struct PreRegisteredClient {
    pub client_id: String,
    /// For a confidential client; `None` for a public one.
    pub client_secret: Option<OAuthSecret>,
    /// `None`: `none` without a secret; with one, `client_secret_basic`
    /// unless the service only lists `client_secret_post`.
    pub token_endpoint_auth: Option<TokenEndpointAuth>,
}

/// Which client to sign in as.
#[derive(Clone, Debug, Default)]
pub enum ClientChoice {
    /// Dynamic client registration (the default).
    #[default]
    Dynamic,
    /// A client ID the user supplies; never registers anything.
    PreRegistered(PreRegisteredClient),
    /// The registration of an earlier sign-in (signing in again). Kept when
    /// it is for the same service (a dynamic one only with its own redirect
    /// address); a dynamic one is registered anew otherwise.
    Existing(ClientRegistration),
}

/// Longest client ID accepted from the user.
const MAX_CLIENT_ID: usize = 1024;

pub(crate) fn resolve_client(
    http: &Http,
    discovery: &Discovery,
    choice: &ClientChoice,
    redirect_uri: &str,
    client_name: &str,
    scope: Option<&str>,
) -> Result<ClientRegistration, OAuthError> {
    match choice {
        ClientChoice::PreRegistered(client) => pre_registered(discovery, client),
        ClientChoice::Dynamic => register(http, discovery, redirect_uri, client_name, scope),
        ClientChoice::Existing(existing) => {
            let same_issuer =
                Url::parse(&existing.issuer).ok() == Url::parse(&discovery.auth_server.issuer).ok();
            match existing.source {
                RegistrationSource::PreRegistered if same_issuer => pre_registered(
                    discovery,
                    &PreRegisteredClient {
                        client_id: existing.client_id.clone(),
                        client_secret: existing.client_secret.clone(),
                        token_endpoint_auth: Some(existing.token_endpoint_auth),
                    },
                ),
                RegistrationSource::PreRegistered => Err(OAuthError::invalid(
                    "client_id",
                    format!(
                        "The client ID was registered with the sign-in service {}, but this MCP server now uses {}. Enter a client ID for the new service.",
                        existing.issuer, discovery.auth_server.issuer
                    ),
                )),
                RegistrationSource::Dynamic
                    if same_issuer && existing.redirect_uri.as_deref() == Some(redirect_uri) =>
                {
                    Ok(ClientRegistration {
                        source: RegistrationSource::Dynamic,
                        redirect_uri: existing.redirect_uri.clone(),
                        ..pre_registered(
                            discovery,
                            &PreRegisteredClient {
                                client_id: existing.client_id.clone(),
                                client_secret: existing.client_secret.clone(),
                                token_endpoint_auth: Some(existing.token_endpoint_auth),
                            },
                        )?
                    })
                }
                RegistrationSource::Dynamic => {
                    register(http, discovery, redirect_uri, client_name, scope)
                }
            }
        }
    }
}

/// A registration from the user's client ID and the discovered endpoints.
fn pre_registered(
    discovery: &Discovery,
    client: &PreRegisteredClient,
) -> Result<ClientRegistration, OAuthError> {
    let client_id = client.client_id.trim();
    if client_id.is_empty() {
        return Err(OAuthError::invalid(
            "client_id",
            "Enter the client ID the service's administrator gave you.",
        ));
    }
    if client_id.len() > MAX_CLIENT_ID || !client_id.chars().all(|c| matches!(c, ' '..='~')) {
        return Err(OAuthError::invalid(
            "client_id",
            "That client ID contains characters a client ID cannot have (or is too long). Copy it again.",
        ));
    }
    let metadata = &discovery.auth_server;
    let auth = match (&client.client_secret, client.token_endpoint_auth) {
        (None, None | Some(TokenEndpointAuth::None)) => TokenEndpointAuth::None,
        (None, Some(_)) => {
            return Err(OAuthError::invalid(
                "client_secret",
                "This way of signing in needs the client secret too. Enter it, or choose a public client.",
            ))
        }
        (Some(_), Some(TokenEndpointAuth::None)) => {
            return Err(OAuthError::invalid(
                "client_secret",
                "A client secret was given for a public client. Remove it, or choose how the secret is sent.",
            ))
        }
        (Some(_), Some(auth)) => auth,
        (Some(_), None) => choose_secret_method(metadata.token_endpoint_auth_methods_supported.as_deref())?,
    };
    Ok(ClientRegistration {
        client_id: client_id.to_string(),
        client_secret: client.client_secret.clone(),
        token_endpoint_auth: auth,
        issuer: metadata.issuer.clone(),
        authorization_endpoint: metadata.authorization_endpoint.clone(),
        token_endpoint: metadata.token_endpoint.clone(),
        revocation_endpoint: metadata.revocation_endpoint.clone(),
        source: RegistrationSource::PreRegistered,
        redirect_uri: None,
    })
}

/// RFC 8414: without a list, `client_secret_basic` is the default.
fn choose_secret_method(supported: Option<&[String]>) -> Result<TokenEndpointAuth, OAuthError> {
    let Some(supported) = supported else {
        return Ok(TokenEndpointAuth::ClientSecretBasic);
    };
    for method in [
        TokenEndpointAuth::ClientSecretBasic,
        TokenEndpointAuth::ClientSecretPost,
    ] {
        if supported.iter().any(|name| name == method.as_str()) {
            return Ok(method);
        }
    }
    Err(OAuthError::NotSupported(
        "The sign-in service accepts a client secret in none of the ways Keybearer can send one (client_secret_basic, client_secret_post).".to_string(),
    ))
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

#[derive(Deserialize)]
struct Refusal {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

const REGISTRATION_ENDPOINT: &str = "The sign-in service's registration endpoint";

fn post_registration(
    http: &Http,
    url: &Url,
    request: &serde_json::Value,
) -> Result<Answer, OAuthError> {
    http.post(
        REGISTRATION_ENDPOINT,
        url,
        Payload::Json(request.to_string().into_bytes()),
        None,
        "application/json",
        MAX_ANSWER,
    )?
    .refuse_redirect(REGISTRATION_ENDPOINT, url)
}

/// A refused registration's `error` and `error_description` (empty when
/// the body says neither); `None` when it was accepted.
fn refusal(answer: &Answer) -> Option<Refusal> {
    if (200..300).contains(&answer.status) {
        return None;
    }
    Some(serde_json::from_slice(&answer.body).unwrap_or(Refusal {
        error: None,
        error_description: None,
    }))
}

/// Dynamic client registration (RFC 7591) as a native public client.
fn register(
    http: &Http,
    discovery: &Discovery,
    redirect_uri: &str,
    client_name: &str,
    scope: Option<&str>,
) -> Result<ClientRegistration, OAuthError> {
    let metadata = &discovery.auth_server;
    let Some(endpoint) = &metadata.registration_endpoint else {
        return Err(OAuthError::NoClient {
            issuer: metadata.issuer.clone(),
        });
    };
    let url = check_url(REGISTRATION_ENDPOINT, endpoint)?;
    let request = serde_json::json!({
        "client_name": client_name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "software_id": "keybearer",
        "software_version": env!("CARGO_PKG_VERSION"),
    });
    let answer = match registration_scope(scope, metadata) {
        None => post_registration(http, &url, &request)?,
        Some(scope) => {
            let mut scoped = request.clone();
            scoped["scope"] = serde_json::Value::String(scope.to_string());
            let answer = post_registration(http, &url, &scoped)?;
            let scope_refused = refusal(&answer)
                .is_some_and(|refused| refused.error.as_deref() == Some("invalid_client_metadata"));
            if scope_refused {
                post_registration(http, &url, &request)?
            } else {
                answer
            }
        }
    };
    registered(&answer, metadata, redirect_uri)
}

/// A registration's answer read: refused (its `error` and
/// `error_description` quoted), or the client it registered, checked.
pub(crate) fn registered(
    answer: &Answer,
    metadata: &super::AuthServerMetadata,
    redirect_uri: &str,
) -> Result<ClientRegistration, OAuthError> {
    if let Some(refusal) = refusal(answer) {
        let reason = error_reason(
            refusal.error.as_deref(),
            refusal.error_description.as_deref(),
            answer.status,
            &[],
        );
        return Err(OAuthError::RegistrationRefused { reason });
    }
    let what = REGISTRATION_ENDPOINT;
    let registered: Registered = serde_json::from_slice(&answer.body)
        .map_err(|_| OAuthError::bad(what, "its answer has no client ID"))?;
    let client_secret = registered
        .client_secret
        .filter(|secret| !secret.is_empty())
        .map(OAuthSecret::new);
    let auth = match registered.token_endpoint_auth_method.as_deref() {
        None if client_secret.is_some() => TokenEndpointAuth::ClientSecretBasic,
        None => TokenEndpointAuth::None,
        Some(name) => TokenEndpointAuth::parse(name).ok_or_else(|| {
            OAuthError::NotSupported(format!(
                "The sign-in service registered Keybearer for a way of signing in it cannot use ({}).",
                super::error::quote_field(Some(name), &[]).unwrap_or_default()
            ))
        })?,
    };
    if auth != TokenEndpointAuth::None && client_secret.is_none() {
        return Err(OAuthError::bad(
            what,
            "it asks for a client secret but gave none",
        ));
    }
    let client_id = registered.client_id.trim();
    if client_id.is_empty() || !client_id.chars().all(|c| matches!(c, ' '..='~')) {
        return Err(OAuthError::bad(
            what,
            "its client ID is empty or not printable",
        ));
    }
    Ok(ClientRegistration {
        client_id: client_id.to_string(),
        client_secret,
        token_endpoint_auth: auth,
        issuer: metadata.issuer.clone(),
        authorization_endpoint: metadata.authorization_endpoint.clone(),
        token_endpoint: metadata.token_endpoint.clone(),
        revocation_endpoint: metadata.revocation_endpoint.clone(),
        source: RegistrationSource::Dynamic,
        redirect_uri: Some(redirect_uri.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_goes_the_way_the_service_accepts() {
        assert_eq!(
            choose_secret_method(None).expect("default"),
            TokenEndpointAuth::ClientSecretBasic
        );
        let post_only = ["client_secret_post".to_string(), "none".to_string()];
        assert_eq!(
            choose_secret_method(Some(&post_only)).expect("post"),
            TokenEndpointAuth::ClientSecretPost
        );
        let jwt_only = ["private_key_jwt".to_string()];
        assert_eq!(
            choose_secret_method(Some(&jwt_only))
                .expect_err("none")
                .code(),
            "oauth_not_supported"
        );
    }
}
