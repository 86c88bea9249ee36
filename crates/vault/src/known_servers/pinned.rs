//! The OAuth endpoints a known server's entry pins, for signing in where its
//! service publishes no metadata (GitHub's OAuth apps; a registry entry's
//! declared app): the CLI's `credential add --server` and the desktop's
//! `start_oauth_sign_in` given the entry (docs/architecture.md, "Known
//! servers").
//!
//! Limits: only for one of the entry's own addresses, so a page naming an
//! entry cannot borrow its endpoints for another server; only an
//! `oauth_client` way that names both endpoints pins them.

use keybearer_server_catalog::{Entry, SignIn};

use crate::oauth::PinnedEndpoints;
use crate::server_url::normalize_server_url;

/// The endpoints `entry` pins for signing in at `url`, if any.
pub fn pinned_endpoints(entry: &Entry, url: &str) -> Option<PinnedEndpoints> {
    let url = normalize_server_url(url).ok()?;
    let own = entry
        .remotes
        .iter()
        .any(|remote| normalize_server_url(&remote.url).ok().as_deref() == Some(url.as_str()));
    if !own {
        return None;
    }
    entry.sign_in.iter().find_map(|way| match way {
        SignIn::OauthClient {
            authorize_url: Some(authorize),
            token_url: Some(token),
            ..
        } => Some(PinnedEndpoints {
            authorization_endpoint: authorize.clone(),
            token_endpoint: token.clone(),
            issuer: None,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use keybearer_server_catalog::Catalog;

    #[test]
    fn github_pins_its_endpoints_for_its_own_address_only() {
        let github = Catalog::shipped().get("github").expect("github");
        let pinned =
            pinned_endpoints(github, "https://api.githubcopilot.com/mcp/").expect("pinned");
        assert_eq!(
            pinned.authorization_endpoint,
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            pinned.token_endpoint,
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(pinned_endpoints(github, "https://evil.example/mcp"), None);
        let notion = Catalog::shipped().get("notion").expect("notion");
        assert_eq!(pinned_endpoints(notion, "https://mcp.notion.com/mcp"), None);
    }
}
