//! Which scopes a dynamic registration names (docs/architecture.md,
//! "OAuth"): the sign-in's scopes only when the authorization server's
//! metadata lists every one of them in `scopes_supported`, or lists none at
//! all (unknown: servers built on the MCP SDKs then refuse scopes the client
//! was not registered with). A scope the service does not list makes strict
//! servers refuse the whole registration (`invalid_client_metadata`), while
//! the authorization request may still ask for it. See `registration.rs`
//! for the one retry.

use super::discovery::AuthServerMetadata;

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
    use crate::discovery::{Discovery, ResourceMetadata};

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
        }
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
