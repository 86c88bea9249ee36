//! Signing in to a team server with OIDC (docs/architecture.md, "Team
//! vaults"): OpenBao's / HashiCorp Vault's `oidc` auth method, as
//! `vault login -method=oidc` does it, through the OAuth sign-in's loopback
//! listener (`keybearer_oauth::LoopbackSignIn`: the one-shot start page, the
//! `state` check, one callback only, requests from other users refused).
//!
//! 1. A listener on `http://127.0.0.1:<port>/oidc/callback` (port 8250 by
//!    default, as Vault's CLI; exact: the role's `allowed_redirect_uris`
//!    must list that address).
//! 2. `POST auth/<mount>/oidc/auth_url` with the role, that redirect
//!    address and a fresh random `client_nonce`: the identity provider's
//!    address, holding the server's `state`.
//! 3. The browser opener gets only the start page; the provider sends the
//!    browser back with `code` and `state`; an answer without this
//!    sign-in's `state` is ignored.
//! 4. `GET auth/<mount>/oidc/callback?state&code&client_nonce` (the nonce
//!    proves this client started the sign-in): the token.
//!
//! Neither the state, the code, the nonce nor the token is ever in an
//! argument, a log line or an error message.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use keybearer_base::error::{Error, Result};
use keybearer_oauth::{random_secret, LoopbackSignIn};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::auth::{grant, unexpected, unexpected_shape, Grant};
use crate::client::BaoClient;

/// Where the browser comes back, as Vault's CLI has it.
pub const OIDC_CALLBACK_PATH: &str = "/oidc/callback";
/// The listener's port by default, as Vault's CLI has it.
pub const DEFAULT_OIDC_PORT: u16 = 8250;
/// The OIDC auth method's mount by default.
pub const DEFAULT_OIDC_MOUNT: &str = "oidc";

/// How to sign in with OIDC.
#[derive(Debug, Clone)]
pub struct OidcOptions {
    /// The auth method's mount (`oidc`).
    pub mount: String,
    /// The role; `None`: the method's `default_role`.
    pub role: Option<String>,
    /// The loopback listener's port.
    pub port: u16,
    /// How long to wait for the browser.
    pub timeout: Duration,
    /// Set, stops the wait for the browser ("cancelled"): the window's
    /// Cancel button. `None`: only the timeout ends it.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for OidcOptions {
    fn default() -> Self {
        Self {
            mount: DEFAULT_OIDC_MOUNT.to_string(),
            role: None,
            port: DEFAULT_OIDC_PORT,
            timeout: keybearer_oauth::DEFAULT_SIGN_IN_TIMEOUT,
            cancel: None,
        }
    }
}

#[derive(Deserialize)]
struct AuthUrlBody {
    data: Option<AuthUrlData>,
}

#[derive(Deserialize)]
struct AuthUrlData {
    #[serde(default)]
    auth_url: String,
}

#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<String>,
}

fn name_ok(name: &str, slash: bool) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || (slash && c == '/')
        })
        && !name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
}

/// What the server said was wrong (its `errors`), made printable.
fn server_said(body: &[u8]) -> String {
    serde_json::from_slice::<Errors>(body)
        .ok()
        .and_then(|errors| errors.errors.into_iter().next())
        .map(|text| {
            keybearer_base::text::printable(&text)
                .chars()
                .take(300)
                .collect()
        })
        .unwrap_or_default()
}

/// Signs in through the browser (see the module's header); `opener` gets
/// the start page's address.
pub(crate) fn login_oidc(
    client: &BaoClient,
    options: &OidcOptions,
    opener: &dyn Fn(&str) -> Result<()>,
) -> Result<Grant> {
    let mount = options.mount.trim_matches('/');
    if !name_ok(mount, true) {
        return Err(Error::invalid(
            "mount",
            "Type the path of the team server's OIDC sign-in (\"oidc\" unless your administrator named it otherwise).",
        ));
    }
    if let Some(role) = &options.role {
        if !name_ok(role, false) {
            return Err(Error::invalid(
                "role",
                "Type the OIDC role your administrator named (letters, digits, \"-\", \"_\" and \".\").",
            ));
        }
    }
    let mut listener = LoopbackSignIn::bind(options.port, OIDC_CALLBACK_PATH)?;
    if let Some(flag) = &options.cancel {
        listener = listener.cancelled_by(Arc::clone(flag));
    }
    let redirect_uri = listener.redirect_uri();
    let nonce = random_secret()?;
    let mut request = serde_json::json!({
        "redirect_uri": redirect_uri,
        "client_nonce": nonce.expose_secret(),
    });
    if let Some(role) = &options.role {
        request["role"] = serde_json::Value::from(role.as_str());
    }
    let body = Zeroizing::new(serde_json::to_vec(&request).unwrap_or_default());
    let reply = client.call(
        Method::POST,
        &format!("auth/{mount}/oidc/auth_url"),
        None,
        Some(body),
    )?;
    let auth_url = match reply.status {
        200 => {
            let body: AuthUrlBody = reply.json(client.address())?;
            body.data.map(|data| data.auth_url).unwrap_or_default()
        }
        400 => {
            return Err(Error::invalid(
                "role",
                format!(
                    "The team server refused to start an OIDC sign-in ({}). Check the role's name with your administrator; nothing was saved.",
                    server_said(&reply.body)
                ),
            ))
        }
        404 | 405 => {
            return Err(Error::invalid(
                "mount",
                format!("This team server has no OIDC sign-in at auth/{mount}. Ask your administrator how to sign in (or which path to give with --oidc-mount)."),
            ))
        }
        status => return Err(unexpected(client, status)),
    };
    if auth_url.is_empty() {
        return Err(Error::invalid(
            "redirect_uri",
            format!(
                "The team server does not allow this computer's sign-in address {redirect_uri}. Ask your administrator to add it to the OIDC role's allowed_redirect_uris (or use the port they allow with --port); nothing was saved."
            ),
        ));
    }
    // The browser is sent to the address as parsed (no line breaks or
    // spaces from the server's text reach the start page's redirect), on
    // https, or http only to this computer.
    let parsed = url::Url::parse(&auth_url)
        .ok()
        .filter(browser_may_go)
        .ok_or_else(|| {
            unexpected_shape(
                client,
                "a sign-in address that is not https (or http to this computer)",
            )
        })?;
    drop(Zeroizing::new(auth_url));
    let auth_url = Zeroizing::new(parsed.as_str().to_string());
    let state = Some(parsed)
        .and_then(|url| {
            url.query_pairs()
                .find(|(name, _)| name == "state")
                .map(|(_, value)| keybearer_oauth::OAuthSecret::new(value.into_owned()))
        })
        .ok_or_else(|| unexpected_shape(client, "an OIDC sign-in address without a state"))?;
    opener(&listener.browser_url())?;
    listener.wait(&auth_url, &state, options.timeout, |callback| {
        if let Some(error) = &callback.error {
            let printable = |text: &str| -> String {
                keybearer_base::text::printable(text).chars().take(200).collect()
            };
            return Err(Error::invalid(
                "oidc",
                format!(
                    "The identity provider did not sign you in ({}{}). Nothing was saved.",
                    printable(error),
                    callback
                        .error_description
                        .as_deref()
                        .map(|text| format!(": {}", printable(text)))
                        .unwrap_or_default()
                ),
            ));
        }
        let Some(code) = &callback.code else {
            return Err(unexpected_shape(
                client,
                "the identity provider's answer had no code",
            ));
        };
        let query = Zeroizing::new(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("state", state.expose_secret())
                .append_pair("code", code.expose_secret())
                .append_pair("client_nonce", nonce.expose_secret())
                .finish(),
        );
        let path = Zeroizing::new(format!("auth/{mount}/oidc/callback?{}", query.as_str()));
        let reply = client.call(Method::GET, &path, None, None)?;
        match reply.status {
            200 => grant(client, &reply),
            400 | 401 | 403 => Err(Error::invalid(
                "oidc",
                format!(
                    "The team server did not accept the sign-in ({}). Try again; nothing was saved.",
                    server_said(&reply.body)
                ),
            )),
            status => Err(unexpected(client, status)),
        }
    })
}

/// Where the browser may be sent: https, or http only to this computer.
fn browser_may_go(url: &url::Url) -> bool {
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Domain(name))) => name == "localhost",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::browser_may_go;

    #[test]
    fn the_browser_goes_only_to_https_or_this_computer() {
        let may = |text: &str| browser_may_go(&url::Url::parse(text).expect("url"));
        assert!(may("https://idp.example/authorize?state=x"));
        assert!(may("http://127.0.0.1:9000/auth"));
        assert!(may("http://localhost:9000/auth"));
        assert!(may("http://[::1]:9000/auth"));
        assert!(!may("http://idp.example/authorize"));
        assert!(!may("javascript:alert(1)"));
        assert!(!may("file:///etc/passwd"));
    }
}
