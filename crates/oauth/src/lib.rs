//! OAuth sign-in that Keybearer keeps fresh: the client side of the MCP
//! authorization spec (revisions 2025-06-18 to 2026-07-28), blocking, for a
//! desktop app and a CLI (a native, public client).
//!
//! - `discovery`: the MCP server's 401 `WWW-Authenticate` → protected
//!   resource metadata (RFC 9728) → authorization server metadata (RFC 8414,
//!   then OpenID Connect discovery).
//! - `registration`: a client ID the user supplies, else dynamic client
//!   registration (RFC 7591) as a native app with loopback redirects.
//! - `pinned`: endpoints known beforehand (a catalog entry's, an earlier
//!   sign-in's) for services that publish no metadata.
//! - `flow`: authorization code with PKCE S256, `state`, `resource`
//!   (RFC 8707) and the `iss` check (RFC 9207).
//! - `scope`: which scopes to ask for (`offline_access` where the service
//!   lists it, with `prompt=consent`) and which to name at registration.
//! - `listener`: the sign-in's listener on 127.0.0.1: a one-shot start page
//!   (the only address given to the browser opener) that redirects to the
//!   authorization address, and the callback, which takes the first answer
//!   carrying `state` and ignores others.
//! - `token`: code exchange, refresh (rotation kept), revocation (RFC 7009).
//! - `challenge`: `WWW-Authenticate` parsing; the 403 `insufficient_scope` step-up.
//! - `sealed`: the one serialisation of secrets, for the vault to seal.
//!
//! Every address is held to Keybearer's rule (https, or http only to this
//! computer), no redirect is ever followed, and no error, log line or
//! `Debug` output carries a token, a code, a verifier or a client secret.
//! Blocking: callers on an async runtime run it on a blocking thread.
//!
//! The crate `keybearer-oauth` (docs/architecture.md, "Crates", "OAuth").
//! Owns: the OAuth client and the grant's types. Must never depend on the
//! store, tokens, the proxy or sessions: the vault seals what it returns.

mod api;
mod auth_server;
mod challenge;
mod discovery;
mod flow;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod listener;
mod loopback_sign_in;
mod pinned;
mod pkce;
mod registration;
mod scope;
mod sealed;
mod token;

use std::fmt;

use keybearer_base::oauth_error as error;
use zeroize::Zeroizing;

pub use challenge::{
    parse_bearer_challenge, parse_insufficient_scope, step_up_scope, BearerChallenge,
    InsufficientScope,
};
pub use discovery::{discover, AuthServerMetadata, Discovery, ResourceMetadata};
pub use error::OAuthError;
pub use flow::{sign_in, start_sign_in, PendingSignIn, SignInOptions, DEFAULT_SIGN_IN_TIMEOUT};
pub use http::TIMEOUT as REQUEST_TIMEOUT;
pub use loopback_sign_in::{random_secret, Callback, LoopbackSignIn};
pub use pinned::PinnedEndpoints;
pub use pkce::{s256_challenge, Pkce};
pub use registration::{ClientChoice, PreRegisteredClient};
pub use token::{refresh, revoke, Revocation, TokenHint};

/// A secret of the OAuth exchange (access or refresh token, client secret,
/// code, verifier, state). `Debug` prints `<redacted>`; there is no
/// `Display` and no `Serialize` (the one way into storage is
/// [`StoredOAuth::to_sealed_json`]); the memory is wiped on drop.
#[derive(Clone)]
pub struct OAuthSecret(Zeroizing<String>);

impl OAuthSecret {
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret itself, for the one place that sends it. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OAuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuthSecret(<redacted>)")
    }
}

/// Compared in constant time (for equal lengths).
impl PartialEq for OAuthSecret {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for OAuthSecret {}

/// What the authorization server granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthGrant {
    pub access_token: OAuthSecret,
    /// Always `Bearer` (others are refused).
    pub token_type: String,
    /// When the access token expires (Unix seconds); `None` when the server
    /// did not say (then only a 401 tells).
    pub expires_at: Option<i64>,
    /// When it was obtained (Unix seconds), so a refresh can come before
    /// expiry in proportion to its lifetime; `None` for grants handed in.
    pub obtained_at: Option<i64>,
    /// After a refresh: the new one if the server rotated it, else the old one.
    pub refresh_token: Option<OAuthSecret>,
    /// The granted scopes (space-separated), as the server said or as asked.
    pub scope: Option<String>,
}

impl OAuthGrant {
    /// True when the access token expires within `margin_seconds` of `now`
    /// (Unix seconds). An unknown expiry never counts as expiring.
    pub fn expires_within(&self, now: i64, margin_seconds: i64) -> bool {
        self.expires_at
            .is_some_and(|expires_at| expires_at <= now.saturating_add(margin_seconds))
    }

    /// Whether Keybearer can renew this grant: the service gave a refresh
    /// token. Without one the sign-in ends when the access token expires.
    pub fn renewable(&self) -> bool {
        self.refresh_token.is_some()
    }

    /// One sentence for the user after signing in: that Keybearer keeps the
    /// sign-in fresh, or, when the service gave no refresh token, that it
    /// ends with this access token and when.
    pub fn renewal_notice(&self) -> String {
        self.renewal_notice_at(now())
    }

    fn renewal_notice_at(&self, now: i64) -> String {
        if self.renewable() {
            return "Keybearer keeps this sign-in fresh from now on.".to_string();
        }
        let when = match self.expires_at.map(|at| at.saturating_sub(now)) {
            Some(seconds) => format!("when it expires ({})", in_words(seconds)),
            None => "when the server stops accepting it".to_string(),
        };
        format!(
            "This server gave no way to renew the sign-in: you will have to sign in again {when}."
        )
    }

    /// The access token as the vault's [`keybearer_base::secret::AccessToken`], validated as
    /// a pasted token would be.
    pub fn to_access_token(&self) -> keybearer_base::Result<keybearer_base::secret::AccessToken> {
        keybearer_base::secret::AccessToken::new(self.access_token.expose_secret().to_string())
    }
}

/// How the client authenticates at the token and revocation endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenEndpointAuth {
    /// A public client: `client_id` only (what dynamic registration asks for).
    None,
    /// `client_secret_basic`: HTTP Basic with the client ID and secret.
    ClientSecretBasic,
    /// `client_secret_post`: the secret in the form.
    ClientSecretPost,
}

impl TokenEndpointAuth {
    /// The RFC 7591 / RFC 8414 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            _ => None,
        }
    }
}

/// Where the client ID came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationSource {
    /// Supplied by the user (registered with the service beforehand).
    PreRegistered,
    /// Obtained through dynamic client registration (RFC 7591).
    Dynamic,
}

impl RegistrationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreRegistered => "pre_registered",
            Self::Dynamic => "dynamic",
        }
    }
}

/// Keybearer as a client of one authorization server, and that server's
/// endpoints (from its metadata, checked against the URL rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRegistration {
    pub client_id: String,
    pub client_secret: Option<OAuthSecret>,
    pub token_endpoint_auth: TokenEndpointAuth,
    /// The authorization server's issuer identifier (RFC 8414).
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub source: RegistrationSource,
    /// The redirect URI registered dynamically (its port is tried first on
    /// the next sign-in); `None` for a pre-registered client.
    pub redirect_uri: Option<String>,
}

/// One MCP server's sign-in, as the vault keeps it (sealed as one blob with
/// [`StoredOAuth::to_sealed_json`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOAuth {
    /// The MCP server's address (normalised).
    pub server_url: String,
    /// The RFC 8707 resource indicator sent on every request: the server's
    /// address, or the resource its metadata names when that is a parent of it.
    pub resource: String,
    pub registration: ClientRegistration,
    pub grant: OAuthGrant,
}

impl StoredOAuth {
    /// Refreshes the grant in place (a rotated refresh token replaces the
    /// old one). `OAuthError::needs_sign_in` tells when only a new sign-in helps.
    pub fn refresh(&mut self) -> Result<(), OAuthError> {
        self.grant = token::refresh(&self.registration, &self.grant, &self.resource)?;
        Ok(())
    }

    /// Revokes the refresh token, then the access token (RFC 7009), when the
    /// service has a revocation endpoint.
    pub fn revoke(&self) -> Result<Revocation, OAuthError> {
        if let Some(refresh_token) = &self.grant.refresh_token {
            if revoke(&self.registration, refresh_token, TokenHint::RefreshToken)?
                == Revocation::NotSupported
            {
                return Ok(Revocation::NotSupported);
            }
        }
        revoke(
            &self.registration,
            &self.grant.access_token,
            TokenHint::AccessToken,
        )
    }
}

/// "in 5 minutes", "in 2 hours", … for a time `seconds` from now.
fn in_words(seconds: i64) -> String {
    const MINUTE: i64 = 60;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let (count, unit) = if seconds <= 0 {
        return "now".to_string();
    } else if seconds < MINUTE {
        return "in less than a minute".to_string();
    } else if seconds < 2 * HOUR {
        (rounded(seconds, MINUTE), "minute")
    } else if seconds < 2 * DAY {
        (rounded(seconds, HOUR), "hour")
    } else {
        (rounded(seconds, DAY), "day")
    };
    format!("in {count} {unit}{}", if count == 1 { "" } else { "s" })
}

/// `seconds` in `unit`s, to the nearest.
fn rounded(seconds: i64, unit: i64) -> i64 {
    seconds.saturating_add(unit / 2) / unit
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let grant = OAuthGrant {
            access_token: OAuthSecret::new("at_visible-in-no-output".into()),
            token_type: "Bearer".into(),
            expires_at: Some(100),
            obtained_at: None,
            refresh_token: Some(OAuthSecret::new("rt_visible-in-no-output".into())),
            scope: Some("mcp".into()),
        };
        let shown = format!("{grant:?}");
        assert!(!shown.contains("visible-in-no-output"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(grant.expires_within(95, 10));
        assert!(!grant.expires_within(80, 10));
        let unknown = OAuthGrant {
            expires_at: None,
            obtained_at: None,
            ..grant
        };
        assert!(!unknown.expires_within(i64::MAX, 10));
    }

    #[test]
    fn the_notice_says_whether_the_sign_in_can_be_renewed() {
        let grant = OAuthGrant {
            access_token: OAuthSecret::new("at".into()),
            token_type: "Bearer".into(),
            expires_at: Some(1000 + 3600),
            obtained_at: Some(1000),
            refresh_token: Some(OAuthSecret::new("rt".into())),
            scope: None,
        };
        assert!(grant
            .renewal_notice_at(1000)
            .contains("keeps this sign-in fresh"));
        let once = OAuthGrant {
            refresh_token: None,
            ..grant
        };
        let notice = once.renewal_notice_at(1000);
        assert!(
            notice.contains("no way to renew") && notice.contains("(in 60 minutes)"),
            "{notice}"
        );
        assert!(!notice.contains("fresh"), "{notice}");
        assert!(once.renewal_notice_at(1001).contains("(in 60 minutes)"));
        assert!(once
            .renewal_notice_at(1000 + 3600 - 59)
            .contains("less than a minute"));
        assert!(once
            .renewal_notice_at(1000 - 2 * 86400)
            .contains("in 2 days"));
        assert!(once.renewal_notice_at(1000 - 7200).contains("in 3 hours"));
        let unknown = OAuthGrant {
            expires_at: None,
            ..once
        };
        assert!(unknown.renewal_notice_at(0).contains("stops accepting it"));
    }
}
