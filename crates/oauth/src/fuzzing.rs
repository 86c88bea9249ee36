//! What a sign-in reads from servers it does not control, reached without
//! a network, for the fuzz target `oauth_answers` and its replay test
//! (`crates/fuzz-checks`; docs/architecture.md, "Fuzzing"): a 401's
//! `WWW-Authenticate`, the protected resource metadata and the
//! authorization server metadata (`discovery`), a token endpoint's answer
//! (`token`) and a registration's (`registration`). Each is the crate's own
//! reading of an answer that `http` fetched; only the fetching is left
//! out. Not an API: nothing else may use it.

use url::Url;

use super::auth_server::validate_metadata;
use super::discovery::{
    choose_authorization_server, document, resource_indicator, AuthServerMetadata, Discovery,
    ResourceMetadata,
};
use super::error::OAuthError;
use super::http::Answer;
use super::{
    challenge, registration, scope, token, ClientRegistration, OAuthGrant, OAuthSecret,
    RegistrationSource, TokenEndpointAuth,
};

fn answer(status: u16, body: &[u8]) -> Answer {
    Answer {
        status,
        headers: http::HeaderMap::new(),
        body: zeroize::Zeroizing::new(body.to_vec()),
    }
}

/// Discovery from the answers a server gave, in `discover`'s order: the
/// challenge's scope, the resource metadata (its resource and the first
/// authorization server that passes), then that server's metadata
/// (issuer, endpoints, PKCE). `server` is a normalised MCP server address.
pub fn discovery(
    server: &Url,
    www_authenticate: &[&str],
    resource: &[u8],
    auth_server: &[u8],
) -> Result<Discovery, OAuthError> {
    let server_name = format!("The MCP server at {server}");
    let challenge = challenge::parse_bearer_challenge(www_authenticate.iter().copied());
    let what = "The MCP server's sign-in details (protected resource metadata)";
    let metadata_url = challenge
        .as_ref()
        .and_then(|c| c.resource_metadata.clone())
        .unwrap_or_else(|| format!("{server}/.well-known/oauth-protected-resource"));
    let resource_metadata: ResourceMetadata = document(what, server, &answer(200, resource))?
        .ok_or_else(|| OAuthError::NotSupported("no resource metadata".to_string()))?;
    let resource = resource_indicator(&server_name, server, &resource_metadata)?;
    let issuer = choose_authorization_server(&resource_metadata)?
        .ok_or_else(|| OAuthError::NotSupported("no authorization server named".to_string()))?;
    let what = format!("The sign-in service at {issuer}");
    let auth_server_metadata: AuthServerMetadata =
        document(&what, &issuer, &answer(200, auth_server))?
            .ok_or_else(|| OAuthError::NotSupported("no metadata".to_string()))?;
    validate_metadata(&what, &issuer, &auth_server_metadata)?;
    Ok(Discovery {
        server_url: server.to_string(),
        resource,
        resource_metadata_url: metadata_url,
        resource_metadata,
        auth_server_metadata_url: issuer.to_string(),
        auth_server: auth_server_metadata,
        challenge_scope: challenge.and_then(|c| c.scope),
        pinned: false,
    })
}

/// The scopes a sign-in asks for, and those it names at registration.
pub fn scopes(given: Option<&str>, discovery: &Discovery) -> (Option<String>, Option<String>) {
    let requested = scope::requested_scope(given, discovery);
    let registered =
        scope::registration_scope(requested.as_deref(), &discovery.auth_server).map(str::to_string);
    (requested, registered)
}

/// A client registered for `metadata`'s service, as a code exchange or a
/// refresh sends it: `secret` with `client_secret_post`, or none.
pub fn client(metadata: &AuthServerMetadata, secret: Option<&str>) -> ClientRegistration {
    ClientRegistration {
        client_id: "keybearer-fuzz".to_string(),
        client_secret: secret.map(|s| OAuthSecret::new(s.to_string())),
        token_endpoint_auth: if secret.is_some() {
            TokenEndpointAuth::ClientSecretPost
        } else {
            TokenEndpointAuth::None
        },
        issuer: metadata.issuer.clone(),
        authorization_endpoint: metadata.authorization_endpoint.clone(),
        token_endpoint: metadata.token_endpoint.clone(),
        revocation_endpoint: metadata.revocation_endpoint.clone(),
        source: RegistrationSource::PreRegistered,
        redirect_uri: None,
    }
}

/// A token endpoint's answer to a request that sent `sent` (a code and a
/// verifier, or a refresh token) as `client`: the grant, or the refusal
/// (quoting only the answer's `error` and `error_description`).
pub fn token_answer(
    status: u16,
    body: &[u8],
    client: &ClientRegistration,
    sent: &[&str],
    previous_refresh: Option<&OAuthSecret>,
    requested_scope: Option<&str>,
) -> Result<OAuthGrant, OAuthError> {
    let answer = answer(status, body);
    if (200..300).contains(&status) {
        let hidden = token::hidden(client, sent);
        token::grant_from(answer, &hidden, previous_refresh, requested_scope)
    } else {
        Err(token::refusal(&answer, client, sent))
    }
}

/// A registration endpoint's answer.
pub fn registration_answer(
    status: u16,
    body: &[u8],
    metadata: &AuthServerMetadata,
    redirect_uri: &str,
) -> Result<ClientRegistration, OAuthError> {
    registration::registered(&answer(status, body), metadata, redirect_uri)
}
