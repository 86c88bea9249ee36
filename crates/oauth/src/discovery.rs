//! Finding the authorization server of an MCP server (MCP authorization,
//! "Authorization Server Discovery"):
//!
//! 1. an unauthenticated request to the MCP server; its 401 `WWW-Authenticate`
//!    `Bearer` challenge may name `resource_metadata` (RFC 9728 §5.1) and `scope`;
//! 2. the protected resource metadata: that URL, else
//!    `/.well-known/oauth-protected-resource/<path>`, else the root one;
//! 3. the first authorization server it names that passes the URL rule;
//! 4. its metadata (`auth_server.rs`): RFC 8414, then OpenID Connect
//!    discovery, with the issuer checked and PKCE S256 required.
//!
//! A server that answers the `initialize` POST with 404 or 405 (the legacy
//! SSE transport takes a GET) is asked once more with a GET for an event
//! stream, headers only, for its 401 challenge.
//!
//! When a step finds nothing published (no resource metadata, no
//! authorization server named, no authorization server metadata) and the
//! caller knows the service's endpoints beforehand (`pinned.rs`: a catalog
//! entry's, or an earlier sign-in's), those are used; metadata that is
//! there but wrong is an error either way.

use serde::Deserialize;
use url::Url;

use super::auth_server::auth_server_metadata;
pub use super::auth_server::AuthServerMetadata;
use super::challenge::parse_bearer_challenge;
use super::error::OAuthError;
use super::http::{check_url, shorten, Http, MAX_DOCUMENT};
use super::pinned::{pinned_discovery, PinnedEndpoints};

/// RFC 9728 protected resource metadata (the fields sign-in uses).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// Everything sign-in needs to know about an MCP server's authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The MCP server's address (normalised).
    pub server_url: String,
    /// The RFC 8707 resource indicator: the server's address, or the
    /// resource its metadata names when that is a parent of it (same origin,
    /// a prefix of its path), which is what the service binds tokens to.
    pub resource: String,
    pub resource_metadata_url: String,
    pub resource_metadata: ResourceMetadata,
    /// Where the authorization server metadata was found.
    pub auth_server_metadata_url: String,
    pub auth_server: AuthServerMetadata,
    /// The `scope` of the server's 401 challenge, if any.
    pub challenge_scope: Option<String>,
    /// The endpoints are pinned ones (`pinned.rs`): the service published no
    /// metadata, so its issuer is not confirmed and an answer's `iss` is not
    /// compared with it.
    pub pinned: bool,
}

impl Discovery {
    /// The scopes to ask for (MCP "scope selection strategy"): the 401
    /// challenge's, else all the resource metadata lists, else none.
    pub fn suggested_scope(&self) -> Option<String> {
        self.challenge_scope.clone().or_else(|| {
            let scopes = self.resource_metadata.scopes_supported.join(" ");
            (!scopes.trim().is_empty()).then_some(scopes)
        })
    }
}

/// Discovers the authorization server of the MCP server at `server_url`.
pub fn discover(server_url: &str) -> Result<Discovery, OAuthError> {
    discover_with(&Http::new(), server_url, None)
}

/// Discovery; where nothing is published, `pinned` endpoints if given.
pub(crate) fn discover_with(
    http: &Http,
    server_url: &str,
    pinned: Option<&PinnedEndpoints>,
) -> Result<Discovery, OAuthError> {
    let server_url = keybearer_base::server_url::normalize_server_url(server_url)
        .map_err(|error| OAuthError::invalid("mcp_server_url", error.to_string()))?;
    let server = Url::parse(&server_url)
        .map_err(|_| OAuthError::invalid("mcp_server_url", "The address is not valid."))?;
    let server_name = format!("The MCP server at {}", shorten(&server_url));

    let challenge = ask_unauthenticated(http, &server_name, &server)?;
    let challenge_scope = challenge.as_ref().and_then(|c| c.scope.clone());
    let found = resource_metadata(
        http,
        &server,
        challenge
            .as_ref()
            .and_then(|c| c.resource_metadata.as_deref()),
    )?;
    let Some((resource_metadata_url, resource_metadata)) = found else {
        return match pinned {
            Some(pinned) => pinned_discovery(server_url, None, challenge_scope, pinned),
            None => Err(OAuthError::NotSupported(format!(
                "{server_name} does not offer OAuth sign-in (it publishes no protected resource metadata). Use a token from the server's provider instead."
            ))),
        };
    };
    let resource = resource_indicator(&server_name, &server, &resource_metadata)?;
    let named = choose_authorization_server(&resource_metadata)?;
    let found = match &named {
        Some(issuer) => auth_server_metadata(http, issuer)?,
        None => None,
    };
    let Some((auth_server_metadata_url, auth_server)) = found else {
        return match (pinned, named) {
            (Some(pinned), named) => {
                let known = pinned_discovery(
                    server_url,
                    Some((resource, resource_metadata)),
                    challenge_scope,
                    pinned,
                )?;
                Ok(match named {
                    // The server names its service; only its metadata is missing.
                    Some(issuer) if pinned.issuer.is_none() => Discovery {
                        auth_server: AuthServerMetadata {
                            issuer: issuer.to_string(),
                            ..known.auth_server
                        },
                        ..known
                    },
                    _ => known,
                })
            }
            (None, None) => Err(OAuthError::NotSupported(
                "The MCP server's sign-in details name no sign-in service (authorization server)."
                    .to_string(),
            )),
            (None, Some(issuer)) => Err(OAuthError::NotSupported(format!(
                "The sign-in service at {} publishes no OAuth metadata (neither RFC 8414 nor OpenID Connect discovery), so Keybearer cannot sign in there.",
                shorten(issuer.as_str())
            ))),
        };
    };
    Ok(Discovery {
        server_url,
        resource,
        resource_metadata_url,
        resource_metadata,
        auth_server_metadata_url,
        auth_server,
        challenge_scope,
        pinned: false,
    })
}

/// An MCP `initialize` without a token. A server that wants sign-in answers
/// 401 with a `Bearer` challenge; anything else (but a redirect) leaves the
/// well-known addresses to try.
fn ask_unauthenticated(
    http: &Http,
    server_name: &str,
    server: &Url,
) -> Result<Option<super::BearerChallenge>, OAuthError> {
    let initialize = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "keybearer", "version": env!("CARGO_PKG_VERSION")}
        }
    });
    let answer = http.post(
        server_name,
        server,
        super::http::Payload::Json(initialize.to_string().into_bytes()),
        None,
        "application/json, text/event-stream",
        MAX_DOCUMENT,
    )?;
    if answer.is_redirect() {
        return Err(answer.redirect_error(server_name, server));
    }
    if answer.status == 401 || answer.status == 403 {
        return Ok(parse_bearer_challenge(
            answer.header_values("www-authenticate"),
        ));
    }
    if answer.status == 404 || answer.status == 405 {
        // The legacy SSE transport: its address takes a GET.
        let (status, headers) = http.get_head(server_name, server, "text/event-stream")?;
        if (300..400).contains(&status) {
            return Err(OAuthError::Redirected {
                what: server_name.to_string(),
                target: super::http::location_origin(&headers, server),
            });
        }
        if status == 401 || status == 403 {
            let values: Vec<&str> = headers
                .get_all("www-authenticate")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            return Ok(parse_bearer_challenge(values));
        }
    }
    Ok(None)
}

/// RFC 9728 §3.1: `/.well-known/oauth-protected-resource` inserted between
/// the host and the path; the root one last.
fn well_known_resource_urls(server: &Url) -> Vec<String> {
    let origin = server.origin().ascii_serialization();
    let path = server.path().trim_end_matches('/');
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
    urls
}

/// The protected resource metadata; `Ok(None)` when none is published.
fn resource_metadata(
    http: &Http,
    server: &Url,
    from_challenge: Option<&str>,
) -> Result<Option<(String, ResourceMetadata)>, OAuthError> {
    let what = "The MCP server's sign-in details (protected resource metadata)";
    let mut candidates: Vec<String> = from_challenge.map(str::to_string).into_iter().collect();
    candidates.extend(well_known_resource_urls(server));
    let mut first_error = None;
    for candidate in candidates {
        let url = match check_url(what, &candidate) {
            Ok(url) => url,
            Err(error) => {
                first_error.get_or_insert(error);
                continue;
            }
        };
        match fetch_json::<ResourceMetadata>(http, what, &url) {
            Ok(Some(metadata)) => return Ok(Some((candidate, metadata))),
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

/// The resource the metadata describes must be this server, or a parent of
/// it on the same origin; otherwise it is another server's metadata.
pub(crate) fn resource_indicator(
    server_name: &str,
    server: &Url,
    metadata: &ResourceMetadata,
) -> Result<String, OAuthError> {
    let what = "The MCP server's sign-in details";
    let resource = Url::parse(metadata.resource.trim())
        .map_err(|_| OAuthError::bad(what, "they do not name the resource they are for"))?;
    let same_origin = resource.origin() == server.origin();
    let resource_path = resource.path().trim_end_matches('/');
    let server_path = server.path().trim_end_matches('/');
    if same_origin && resource_path == server_path {
        return Ok(server.to_string());
    }
    let parent = same_origin
        && server_path
            .strip_prefix(resource_path)
            .is_some_and(|rest| rest.starts_with('/'));
    if parent && resource.query().is_none() && resource.fragment().is_none() {
        return Ok(metadata.resource.trim().to_string());
    }
    Err(OAuthError::bad(
        what,
        format!(
            "they are for {}, not for this server ({})",
            shorten(&metadata.resource),
            server_name.trim_start_matches("The MCP server at ")
        ),
    ))
}

/// The first usable authorization server named; `Ok(None)` when none is.
pub(crate) fn choose_authorization_server(
    metadata: &ResourceMetadata,
) -> Result<Option<Url>, OAuthError> {
    let what = "The sign-in service (authorization server) the MCP server names";
    let mut first_error = None;
    for candidate in &metadata.authorization_servers {
        match check_url(what, candidate) {
            Ok(url) if url.query().is_none() => return Ok(Some(url)),
            Ok(_) => {
                first_error
                    .get_or_insert(OAuthError::bad(what, "its issuer address contains a query"));
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    first_error.map_or(Ok(None), Err)
}

/// GETs a JSON document: `Ok(None)` when it is not there (any 4xx or 5xx).
pub(crate) fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &Http,
    what: &str,
    url: &Url,
) -> Result<Option<T>, OAuthError> {
    let answer = http.get(what, url, "application/json", MAX_DOCUMENT)?;
    document(what, url, &answer)
}

/// A metadata document's answer read: `Ok(None)` when it is not there.
pub(crate) fn document<T: serde::de::DeserializeOwned>(
    what: &str,
    url: &Url,
    answer: &super::http::Answer,
) -> Result<Option<T>, OAuthError> {
    if answer.is_redirect() {
        return Err(answer.redirect_error(what, url));
    }
    if !(200..300).contains(&answer.status) {
        return Ok(None);
    }
    serde_json::from_slice(&answer.body)
        .map(Some)
        .map_err(|_| OAuthError::bad(what, "its metadata is not valid JSON of the expected form"))
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
            well_known_resource_urls(&url("https://r.example/v1/mcp/")),
            [
                "https://r.example/.well-known/oauth-protected-resource/v1/mcp",
                "https://r.example/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            well_known_resource_urls(&url("https://r.example")),
            ["https://r.example/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn the_resource_must_be_this_server_or_a_parent() {
        let metadata = |resource: &str| ResourceMetadata {
            resource: resource.into(),
            authorization_servers: vec![],
            scopes_supported: vec![],
        };
        let server = url("https://r.example/api/mcp");
        let name = "The MCP server at https://r.example/api/mcp";
        assert_eq!(
            resource_indicator(name, &server, &metadata("https://r.example/api/mcp/"))
                .expect("same"),
            "https://r.example/api/mcp"
        );
        assert_eq!(
            resource_indicator(name, &server, &metadata("https://r.example/api")).expect("parent"),
            "https://r.example/api"
        );
        assert_eq!(
            resource_indicator(name, &server, &metadata("https://r.example")).expect("root"),
            "https://r.example"
        );
        for other in [
            "https://evil.example/api/mcp",
            "https://r.example/ap",
            "https://r.example/api/mcp2",
            "http://r.example/api/mcp",
            "not a url",
        ] {
            let error = resource_indicator(name, &server, &metadata(other)).expect_err(other);
            assert_eq!(error.code(), "oauth_bad_response", "{other}");
        }
    }

    #[test]
    fn the_first_acceptable_authorization_server_is_chosen() {
        let metadata = |servers: &[&str]| ResourceMetadata {
            resource: "https://r.example".into(),
            authorization_servers: servers.iter().map(|s| s.to_string()).collect(),
            scopes_supported: vec![],
        };
        let chosen =
            choose_authorization_server(&metadata(&["http://as.example", "https://as2.example/t"]))
                .expect("second")
                .expect("named");
        assert_eq!(chosen.as_str(), "https://as2.example/t");
        let refused =
            choose_authorization_server(&metadata(&["http://as.example"])).expect_err("plain");
        assert_eq!(refused.code(), "oauth_insecure_url");
        assert_eq!(
            choose_authorization_server(&metadata(&[])).expect("none named"),
            None
        );
    }
}
