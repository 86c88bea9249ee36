//! The MCP servers a session configures in its agent. In proxy mode they are
//! the proxy's loopback listeners with the per-session secret; in direct mode
//! the real servers with the real tokens. The session code treats both alike.

use std::collections::HashSet;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use keybearer_base::error::{Error, Result};
use keybearer_base::model::{Protocol, Timestamp};
use keybearer_vault::Engine;
use keybearer_vault::{CredentialUse, UseKind};

/// A header value that is secret (`Bearer …`, an API key). Never printed,
/// never serialised, wiped from memory when dropped.
pub struct HeaderSecret(SecretString);

impl HeaderSecret {
    /// Any header value of a credential (already validated when stored).
    pub(crate) fn value(value: &str) -> Self {
        Self(SecretString::from(value.to_string()))
    }

    /// `Bearer <token>` for a bearer token (the proxy's session secret or,
    /// in direct mode, the real token).
    pub fn bearer(token: &str) -> Result<Self> {
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(
                "authorization",
                "A bearer token must be printable ASCII without spaces.",
            ));
        }
        Ok(Self(SecretString::from(format!("Bearer {token}"))))
    }

    /// The full header value, for the one file or variable that must hold it.
    pub(crate) fn header_value(&self) -> &str {
        self.0.expose_secret()
    }

    /// The token alone (what Codex wants in its `bearer_token_env_var`).
    pub(crate) fn bearer_token(&self) -> Option<&str> {
        let value = self.0.expose_secret();
        value
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
            .map(|_| &value[7..])
    }
}

impl fmt::Debug for HeaderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HeaderSecret(<redacted>)")
    }
}

/// One MCP server to put into the agent's configuration.
#[derive(Debug)]
pub struct McpEndpoint {
    /// The server's name in the agent's config: `[a-z0-9_-]`, unique in the
    /// session. Derive it from the upstream URL with [`server_names`].
    pub name: String,
    /// Where the agent connects: the proxy listener, or the real server in direct mode.
    pub url: String,
    pub transport: Protocol,
    /// The headers the agent sends: in proxy mode `Authorization` with the
    /// session secret; in direct mode the credential's own.
    pub headers: Vec<(String, HeaderSecret)>,
}

impl McpEndpoint {
    /// The bearer token, when the endpoint's one header is `Authorization: Bearer …`.
    pub(crate) fn bearer_token(&self) -> Option<&str> {
        match self.headers.as_slice() {
            [(name, value)] if name.eq_ignore_ascii_case("authorization") => value.bearer_token(),
            _ => None,
        }
    }

    /// The headers as `Name: value` lines (the bridge's headers file).
    pub(crate) fn header_lines(&self) -> zeroize::Zeroizing<String> {
        let mut text = zeroize::Zeroizing::new(String::with_capacity(
            self.headers
                .iter()
                .map(|(n, v)| n.len() + v.header_value().len() + 3)
                .sum(),
        ));
        for (name, value) in &self.headers {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value.header_value());
            text.push('\n');
        }
        text
    }
}

const MAX_NAME_LEN: usize = 48;

/// Names for servers, derived from each URL's host and path (`https://api.example.com/mcp/`
/// → `api-example-com-mcp`), sanitised to `[a-z0-9_-]` and made unique by a
/// `-2`, `-3`… suffix. Give the upstream URLs, not the proxy's, so names
/// stay meaningful to people.
pub fn server_names<'a>(upstream_urls: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = HashSet::new();
    upstream_urls
        .into_iter()
        .map(|url| {
            let base = base_name(url);
            let mut name = base.clone();
            let mut n = 2;
            while !taken.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            name
        })
        .collect()
}

fn base_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let mut name = String::new();
    for c in rest.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_matches('-').to_string();
    if name.len() > MAX_NAME_LEN {
        name.truncate(MAX_NAME_LEN);
        name = name.trim_end_matches('-').to_string();
    }
    if name.is_empty() {
        "server".to_string()
    } else {
        name
    }
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks what a caller hands in: valid, unique names.
pub(crate) fn validate_endpoints(endpoints: &[McpEndpoint]) -> Result<()> {
    let mut seen = HashSet::new();
    for endpoint in endpoints {
        if !is_valid_name(&endpoint.name) {
            return Err(Error::invalid(
                "endpoints",
                format!(
                    "\"{}\" is not a valid MCP server name (use a-z, 0-9, \"-\" and \"_\").",
                    endpoint.name
                ),
            ));
        }
        if !seen.insert(endpoint.name.as_str()) {
            return Err(Error::invalid(
                "endpoints",
                format!("Two MCP servers are named \"{}\".", endpoint.name),
            ));
        }
    }
    Ok(())
}

/// Direct mode: one endpoint per server URL covered by the session's vaults,
/// carrying the real token of the winning credential (first vault in order
/// wins). Each hand-over is audited as a use of the credential by `session_id`.
pub fn direct_endpoints(
    engine: &mut Engine,
    session_id: &str,
    vault_ids: &[String],
) -> Result<Vec<McpEndpoint>> {
    // Local vaults' tokens, and team vaults' from their servers.
    let sources = keybearer_team_vaults::for_session(engine, vault_ids)?;
    let urls: Vec<String> = sources.servers.iter().map(|(url, _)| url.clone()).collect();
    let names = server_names(urls.iter().map(String::as_str));
    let mut endpoints = Vec::with_capacity(urls.len());
    for (url, name) in urls.iter().zip(names) {
        let injection = sources
            .source
            .lookup(keybearer_vault::Scope::Vaults(vault_ids), url)?
            .ok_or_else(|| Error::not_found("credential", url.clone()))?;
        let credential = &injection.resolution.credential;
        endpoints.push(McpEndpoint {
            name,
            url: credential.mcp_server_url.clone(),
            transport: credential.protocol,
            headers: injection
                .token
                .pairs()
                .into_iter()
                .map(|(name, value)| (name.to_string(), HeaderSecret::value(&value)))
                .collect(),
        });
        engine.audit().record_use(&CredentialUse {
            credential_id: credential.id.clone(),
            vault_id: credential.vault_id.clone(),
            upstream_url: credential.mcp_server_url.clone(),
            session_id: Some(session_id.to_string()),
            connection_id: None,
            method: None,
            status: None,
            detail: None,
            at: Timestamp::now(),
            count: 1,
            kind: UseKind::Used,
        })?;
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_host_and_path_and_are_unique() {
        let names = server_names([
            "https://api.githubcopilot.com/mcp/",
            "https://API.example.com:8443/v1/MCP",
            "http://127.0.0.1:9000/sse",
            "https://api.githubcopilot.com/mcp",
            "https://api.githubcopilot.com/mcp//",
            "https://x/",
        ]);
        assert_eq!(
            names,
            [
                "api-githubcopilot-com-mcp",
                "api-example-com-8443-v1-mcp",
                "127-0-0-1-9000-sse",
                "api-githubcopilot-com-mcp-2",
                "api-githubcopilot-com-mcp-3",
                "x",
            ]
        );
        assert!(names.iter().all(|name| is_valid_name(name)));
        let long = server_names([format!("https://{}.example.com/", "a".repeat(100)).as_str()]);
        assert!(long[0].len() <= MAX_NAME_LEN && is_valid_name(&long[0]));
        assert_eq!(server_names(["https://"]), ["server"]);
    }

    #[test]
    fn header_secret_is_redacted_and_splits_bearer() {
        let secret = HeaderSecret::bearer("abc.DEF-123").expect("valid");
        assert_eq!(format!("{secret:?}"), "HeaderSecret(<redacted>)");
        assert_eq!(secret.header_value(), "Bearer abc.DEF-123");
        assert_eq!(secret.bearer_token(), Some("abc.DEF-123"));
        assert!(HeaderSecret::bearer("two words").is_err());
        assert!(HeaderSecret::bearer("").is_err());
    }
}
