//! Endpoints known beforehand, for services whose authorization server
//! publishes no metadata and lets no app register itself (GitHub's OAuth
//! apps): the user makes an app there, and sign-in goes to the endpoints a
//! catalog entry pins, or to those an earlier sign-in of the same credential
//! used (docs/architecture.md, "OAuth", "Known servers").
//!
//! Flow: discovery (`discovery.rs`) runs as always; only where a step finds
//! nothing published does it take these, through [`pinned_discovery`]:
//! the resource is the one the server's metadata names when it has some,
//! else the server's address; the issuer is the earlier sign-in's, else the
//! one the server names, else the sign-in page's origin. PKCE S256 is sent
//! (the services this is for support it); a client secret goes in the form
//! (`client_secret_post`, what GitHub documents) unless an earlier sign-in
//! chose otherwise.
//!
//! Limits: with no metadata nothing confirms the issuer, so an answer's
//! `iss` is not compared (each sign-in has its own listener on a port of
//! its own, so another service's answer cannot arrive there by mistake);
//! no dynamic registration and no revocation endpoint.

use super::discovery::{AuthServerMetadata, Discovery, ResourceMetadata};
use super::error::OAuthError;
use super::http::{check_url, origin};
use super::registration::ClientChoice;
use super::RegistrationSource;

/// An authorization server's endpoints, known without its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedEndpoints {
    /// Where the browser signs in (`https://github.com/login/oauth/authorize`).
    pub authorization_endpoint: String,
    /// Where the code is exchanged (`https://github.com/login/oauth/access_token`).
    pub token_endpoint: String,
    /// The service's issuer when known (an earlier sign-in's); `None`: the
    /// one the server names, else the sign-in page's origin.
    pub issuer: Option<String>,
}

impl PinnedEndpoints {
    /// The endpoints an earlier sign-in used, when its client was one the
    /// user made (a dynamic registration is made anew where metadata is).
    pub(crate) fn of_earlier(choice: &ClientChoice) -> Option<Self> {
        match choice {
            ClientChoice::Existing(earlier)
                if earlier.source == RegistrationSource::PreRegistered =>
            {
                Some(Self {
                    authorization_endpoint: earlier.authorization_endpoint.clone(),
                    token_endpoint: earlier.token_endpoint.clone(),
                    issuer: Some(earlier.issuer.clone()),
                })
            }
            _ => None,
        }
    }
}

/// A discovery from `pinned` endpoints, for `server_url` (normalised);
/// `found` is the resource and its metadata when the server publishes them.
pub(crate) fn pinned_discovery(
    server_url: String,
    found: Option<(String, ResourceMetadata)>,
    challenge_scope: Option<String>,
    pinned: &PinnedEndpoints,
) -> Result<Discovery, OAuthError> {
    let what = "The sign-in page the catalog names for this server";
    let authorize = check_url(what, &pinned.authorization_endpoint)?;
    check_url(
        "The token address the catalog names for this server",
        &pinned.token_endpoint,
    )?;
    let issuer = match &pinned.issuer {
        Some(issuer) => issuer.clone(),
        None => origin(&authorize),
    };
    let (resource, resource_metadata) = found.unwrap_or_else(|| {
        (
            server_url.clone(),
            ResourceMetadata {
                resource: server_url.clone(),
                authorization_servers: Vec::new(),
                scopes_supported: Vec::new(),
            },
        )
    });
    tracing::info!(issuer = %issuer, "no OAuth metadata published: using the pinned endpoints");
    Ok(Discovery {
        server_url,
        resource,
        resource_metadata_url: String::new(),
        resource_metadata,
        auth_server_metadata_url: String::new(),
        auth_server: AuthServerMetadata {
            issuer,
            authorization_endpoint: authorize.into(),
            token_endpoint: pinned.token_endpoint.clone(),
            registration_endpoint: None,
            revocation_endpoint: None,
            response_types_supported: None,
            code_challenge_methods_supported: vec!["S256".to_string()],
            authorization_response_iss_parameter_supported: false,
            token_endpoint_auth_methods_supported: Some(vec!["client_secret_post".to_string()]),
            scopes_supported: Vec::new(),
        },
        challenge_scope,
        pinned: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(authorize: &str, token: &str) -> PinnedEndpoints {
        PinnedEndpoints {
            authorization_endpoint: authorize.into(),
            token_endpoint: token.into(),
            issuer: None,
        }
    }

    #[test]
    fn pinned_endpoints_follow_the_address_rule_and_name_an_issuer() {
        let known = pinned_discovery(
            "https://api.example/mcp".into(),
            None,
            None,
            &pinned(
                "https://github.example/login/oauth/authorize",
                "https://github.example/login/oauth/access_token",
            ),
        )
        .expect("pinned");
        assert!(known.pinned);
        assert_eq!(known.resource, "https://api.example/mcp");
        assert_eq!(known.auth_server.issuer, "https://github.example");
        assert!(known.auth_server.registration_endpoint.is_none());
        for (authorize, token) in [
            ("http://as.example/authorize", "https://as.example/token"),
            ("https://as.example/authorize", "javascript:alert(1)"),
        ] {
            let refused = pinned_discovery(
                "https://api.example/mcp".into(),
                None,
                None,
                &pinned(authorize, token),
            )
            .expect_err(token);
            assert!(
                matches!(refused.code(), "oauth_insecure_url" | "oauth_bad_response"),
                "{refused}"
            );
        }
    }
}
