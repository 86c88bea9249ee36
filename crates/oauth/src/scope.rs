//! Which scopes a sign-in asks for, and where it names them
//! (docs/architecture.md, "OAuth"):
//!
//! 1. the user's scopes, else the MCP server's 401 challenge's, else all its
//!    resource metadata lists, else none (MCP "scope selection strategy");
//! 2. `offline_access` added when the authorization server's metadata lists
//!    it in `scopes_supported` and some scope is asked for at all: OIDC
//!    servers (and others that follow them) issue a refresh token only for
//!    it (MCP SEP-2207). With no scope to ask for, the service's defaults
//!    apply untouched;
//! 3. `prompt=consent` on the authorization request whenever the scope has
//!    `offline_access`, given or added (OIDC Core §11: without it the
//!    service drops `offline_access` and gives no refresh token);
//! 4. dynamic registration names the scopes only when the metadata lists
//!    every one of them, or lists none at all (unknown: servers built on the
//!    MCP SDKs then refuse scopes the client was not registered with). A
//!    scope the service does not list makes strict servers refuse the whole
//!    registration (`invalid_client_metadata`), while the authorization
//!    request may still ask for it. See `registration.rs` for the one retry.

use super::discovery::{AuthServerMetadata, Discovery};

/// The OIDC scope that asks for a refresh token.
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// The scope to ask for (space-separated), or `None` to leave it to the service.
pub(crate) fn requested_scope(given: Option<&str>, discovery: &Discovery) -> Option<String> {
    let scope = given
        .filter(|scope| !scope.trim().is_empty())
        .map(str::to_string)
        .or_else(|| discovery.suggested_scope())?;
    let mut scopes: Vec<&str> = scope.split_whitespace().collect();
    if lists(&discovery.auth_server, OFFLINE_ACCESS) && !scopes.contains(&OFFLINE_ACCESS) {
        scopes.push(OFFLINE_ACCESS);
    }
    Some(scopes.join(" "))
}

/// Whether the authorization request must carry `prompt=consent`.
pub(crate) fn needs_consent(scope: Option<&str>) -> bool {
    scope.is_some_and(|scope| scope.split_whitespace().any(|s| s == OFFLINE_ACCESS))
}

/// The scope to name in a dynamic registration, if any.
pub(crate) fn registration_scope<'a>(
    scope: Option<&'a str>,
    metadata: &AuthServerMetadata,
) -> Option<&'a str> {
    let scope = scope.filter(|scope| !scope.trim().is_empty())?;
    let all_listed = scope.split_whitespace().all(|value| lists(metadata, value));
    (metadata.scopes_supported.is_empty() || all_listed).then_some(scope)
}

fn lists(metadata: &AuthServerMetadata, scope: &str) -> bool {
    metadata
        .scopes_supported
        .iter()
        .any(|listed| listed == scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ResourceMetadata;

    fn discovery(challenge: Option<&str>, as_scopes: &[&str]) -> Discovery {
        Discovery {
            server_url: "https://mcp.example.com/mcp".into(),
            resource: "https://mcp.example.com/mcp".into(),
            resource_metadata_url: String::new(),
            resource_metadata: ResourceMetadata {
                resource: "https://mcp.example.com/mcp".into(),
                authorization_servers: vec![],
                scopes_supported: vec![],
            },
            auth_server_metadata_url: String::new(),
            auth_server: AuthServerMetadata {
                issuer: "https://auth.example.com".into(),
                authorization_endpoint: "https://auth.example.com/authorize".into(),
                token_endpoint: "https://auth.example.com/token".into(),
                registration_endpoint: None,
                revocation_endpoint: None,
                response_types_supported: None,
                code_challenge_methods_supported: vec!["S256".into()],
                authorization_response_iss_parameter_supported: false,
                token_endpoint_auth_methods_supported: None,
                scopes_supported: as_scopes.iter().map(|s| s.to_string()).collect(),
            },
            challenge_scope: challenge.map(str::to_string),
            pinned: false,
        }
    }

    #[test]
    fn offline_access_is_added_only_where_the_service_lists_it() {
        let oidc = discovery(Some("mcp"), &["openid", "offline_access"]);
        assert_eq!(
            requested_scope(None, &oidc).as_deref(),
            Some("mcp offline_access")
        );
        assert_eq!(
            requested_scope(Some("offline_access mcp"), &oidc).as_deref(),
            Some("offline_access mcp"),
            "not twice"
        );
        let plain = discovery(Some("mcp"), &["mcp"]);
        assert_eq!(requested_scope(None, &plain).as_deref(), Some("mcp"));
        // Nothing to ask for: the service's defaults, untouched.
        assert_eq!(
            requested_scope(None, &discovery(None, &["offline_access"])),
            None
        );
        assert!(needs_consent(Some("mcp offline_access")));
        assert!(!needs_consent(Some("mcp offline_accessible")));
        assert!(!needs_consent(None));
    }

    #[test]
    fn registration_names_only_scopes_the_service_lists() {
        let lists_all = discovery(None, &["mcp", "offline_access"]).auth_server;
        assert_eq!(
            registration_scope(Some("mcp offline_access"), &lists_all),
            Some("mcp offline_access")
        );
        let lists_other = discovery(None, &["openid", "offline_access"]).auth_server;
        assert_eq!(
            registration_scope(Some("mcp offline_access"), &lists_other),
            None
        );
        let lists_none = discovery(None, &[]).auth_server;
        assert_eq!(registration_scope(Some("mcp"), &lists_none), Some("mcp"));
        assert_eq!(registration_scope(Some("  "), &lists_none), None);
    }
}
