//! A registry server's OAuth app: for a server whose sign-in service lets no
//! app register itself (and may publish no metadata), its publisher says in
//! server.json's publisher-provided `_meta` that the user makes an OAuth app,
//! where, and at which endpoints sign-in happens:
//!
//! ```json
//! "_meta": { "io.modelcontextprotocol.registry/publisher-provided": {
//!   "dev.keybearer/oauth-app": {
//!     "clientPage": "https://example.com/settings/apps/new",
//!     "clientSecret": true,
//!     "scopes": ["read"],
//!     "authorizeUrl": "https://mcp.example.com/oauth/authorize",
//!     "tokenUrl": "https://mcp.example.com/oauth/token" } } }
//! ```
//!
//! It becomes an `oauth_client` sign-in like the built-in GitHub entry's
//! (docs/architecture.md, "Known servers"). Keybearer's own key: the
//! registry's schema has no field for it.
//!
//! Limits: a registry publisher may pin endpoints only on its own server's
//! origin (scheme, host and port of one of the entry's addresses), so an
//! entry cannot send the user's app secret to another site; the built-in
//! list, checked by hand, has no such limit (GitHub's are on github.com).
//! The endpoints come both or neither; every address passes the catalog's
//! address rule.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::model::{Remote, SignIn};
use crate::validate::{self, quoted};

/// server.json's own `_meta`: only the part Keybearer reads.
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct ServerMeta {
    #[serde(
        default,
        rename = "io.modelcontextprotocol.registry/publisher-provided",
        skip_serializing_if = "Option::is_none"
    )]
    publisher: Option<PublisherProvided>,
}

#[derive(Clone, Default, Deserialize, Serialize)]
struct PublisherProvided {
    #[serde(
        default,
        rename = "dev.keybearer/oauth-app",
        skip_serializing_if = "Option::is_none"
    )]
    oauth_app: Option<OauthAppJson>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OauthAppJson {
    client_page: String,
    #[serde(default)]
    client_secret: bool,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    authorize_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
}

impl ServerMeta {
    /// The declared OAuth app, if any.
    pub(crate) fn oauth_app(&self) -> Option<&OauthAppJson> {
        self.publisher.as_ref()?.oauth_app.as_ref()
    }

    /// What the cache keeps: the OAuth app alone; `None` without one.
    pub(crate) fn trimmed(&self) -> Option<Self> {
        let app = self.oauth_app()?.clone();
        Some(Self {
            publisher: Some(PublisherProvided {
                oauth_app: Some(app),
            }),
        })
    }
}

/// The declared app as a sign-in, its addresses checked; `remotes` are the
/// entry's (already checked) addresses.
pub(crate) fn oauth_app_sign_in(app: &OauthAppJson, remotes: &[Remote]) -> Result<SignIn, String> {
    let reason = |invalid: validate::Invalid| format!("{} {}", invalid.what, invalid.problem);
    let client_page = validate::web_address("OAuth app page", &app.client_page).map_err(reason)?;
    let (authorize_url, token_url) = match (&app.authorize_url, &app.token_url) {
        (None, None) => (None, None),
        (Some(authorize), Some(token)) => (
            Some(own_endpoint("authorize address", authorize, remotes)?),
            Some(own_endpoint("token address", token, remotes)?),
        ),
        _ => {
            return Err(
                "names only one of its OAuth app's authorize and token addresses".to_owned(),
            )
        }
    };
    Ok(SignIn::OauthClient {
        client_page,
        client_secret: app.client_secret,
        scopes: app.scopes.clone(),
        authorize_url,
        token_url,
    })
}

/// A pinned endpoint, checked, on the origin of every one of the entry's
/// addresses (an entry listing another service's address beside its own
/// must not pin its endpoints for that one).
fn own_endpoint(what: &str, raw: &str, remotes: &[Remote]) -> Result<String, String> {
    let checked = validate::web_address(what, raw)
        .map_err(|invalid| format!("{} {}", invalid.what, invalid.problem))?;
    let origin = |address: &str| Url::parse(address).ok().map(|url| url.origin());
    let own = origin(&checked).is_some_and(|endpoint| {
        !remotes.is_empty()
            && remotes
                .iter()
                .all(|remote| origin(&remote.url).as_ref() == Some(&endpoint))
    });
    if own {
        Ok(checked)
    } else {
        Err(format!(
            "{what} {} is not on the server's own address; a registry entry may name only its own server's sign-in service",
            quoted(raw)
        ))
    }
}
