//! The token endpoints of a team server (docs/architecture.md, "Team
//! vaults"): `userpass` sign-in, `lookup-self` (who the token is, how long
//! it lives), `renew-self`, `revoke-self` and `sys/capabilities-self` (what
//! the token may do at a path). The token is read from answers into wiped
//! buffers and never logged.

use std::collections::HashMap;
use std::time::Duration;

use http::Method;
use keybearer_base::error::{Error, Result};
use keybearer_base::team_error::TeamError;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::client::{BaoClient, Reply};

/// A token the server handed out, and how long it lives.
pub(crate) struct Grant {
    pub token: Zeroizing<String>,
    pub lease: Lease,
}

/// How long a token lives from now; `ttl` `None` for a token that does not
/// expire (a root token).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lease {
    pub ttl: Option<Duration>,
    pub renewable: bool,
}

/// Who a token belongs to: what a change made from Keybearer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The server's name for the token's owner (`userpass-alice`).
    pub display_name: String,
    /// The identity entity, when the server has one for the token.
    pub entity_id: Option<String>,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct AuthBody {
    auth: Option<AuthFields>,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct AuthFields {
    client_token: Option<String>,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct LookupBody {
    data: LookupFields,
}

/// `lookup-self`'s answer also holds the token (`id`): not read here.
#[derive(Deserialize)]
struct LookupFields {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    renewable: bool,
}

fn lease(seconds: u64, renewable: bool) -> Lease {
    Lease {
        ttl: (seconds > 0).then(|| Duration::from_secs(seconds)),
        renewable,
    }
}

/// `POST auth/userpass/login/<user>`. A refusal is the user's to fix.
pub(crate) fn login_userpass(client: &BaoClient, user: &str, password: &str) -> Result<Grant> {
    let user = user.trim();
    if user.is_empty()
        || !user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(Error::invalid(
            "user",
            "Type your user name on the team server (letters, digits, \".\", \"_\", \"-\" and \"@\").",
        ));
    }
    let mut body = Zeroizing::new(Vec::with_capacity(password.len() + 20));
    serde_json::to_writer(&mut *body, &serde_json::json!({ "password": password }))
        .map_err(|_| Error::invalid("password", "The password could not be sent."))?;
    let reply = client.call(
        Method::POST,
        &format!("auth/userpass/login/{user}"),
        None,
        Some(body),
    )?;
    match reply.status {
        200 => grant(client, &reply),
        400 | 401 | 403 => Err(Error::invalid(
            "password",
            "The team server did not accept that user name and password. Check them and try again; nothing was saved.",
        )),
        404 => Err(Error::invalid(
            "user",
            "This team server has no user-name-and-password sign-in (userpass). Ask your administrator how to sign in.",
        )),
        status => Err(unexpected(client, status)),
    }
}

pub(crate) fn grant(client: &BaoClient, reply: &Reply) -> Result<Grant> {
    let mut body: AuthBody = reply.json(client.address())?;
    let fields = body
        .auth
        .as_mut()
        .ok_or_else(|| unexpected_shape(client, "a sign-in answer without a token"))?;
    let token = Zeroizing::new(fields.client_token.take().unwrap_or_default());
    if token.is_empty() {
        return Err(unexpected_shape(client, "a sign-in answer without a token"));
    }
    Ok(Grant {
        token,
        lease: lease(fields.lease_duration, fields.renewable),
    })
}

/// `GET auth/token/lookup-self`: who the token is and how long it lives;
/// a refused token is [`TeamError::SignInRequired`].
pub(crate) fn lookup_self(client: &BaoClient, token: &Zeroizing<String>) -> Result<(Who, Lease)> {
    let reply = client.call(Method::GET, "auth/token/lookup-self", Some(token), None)?;
    match reply.status {
        200 => {
            let body: LookupBody = reply.json(client.address())?;
            let who = Who {
                display_name: body.data.display_name,
                entity_id: (!body.data.entity_id.is_empty()).then_some(body.data.entity_id),
            };
            Ok((who, lease(body.data.ttl, body.data.renewable)))
        }
        401 | 403 => Err(sign_in_required(client)),
        status => Err(unexpected(client, status)),
    }
}

/// `POST auth/token/renew-self`: the token lives longer (as long as its
/// policy allows).
pub(crate) fn renew_self(client: &BaoClient, token: &Zeroizing<String>) -> Result<Lease> {
    let body = Zeroizing::new(b"{}".to_vec());
    let reply = client.call(
        Method::POST,
        "auth/token/renew-self",
        Some(token),
        Some(body),
    )?;
    match reply.status {
        200 => Ok(grant(client, &reply)?.lease),
        401 | 403 => Err(sign_in_required(client)),
        // A token that may not be renewed (the server says so with a 400).
        400 => Ok(Lease {
            ttl: None,
            renewable: false,
        }),
        status => Err(unexpected(client, status)),
    }
}

/// `POST auth/token/revoke-self`: the token stops working on the server.
/// One it no longer accepts is as good as revoked.
pub(crate) fn revoke_self(client: &BaoClient, token: &Zeroizing<String>) -> Result<()> {
    let body = Zeroizing::new(b"{}".to_vec());
    let reply = client.call(
        Method::POST,
        "auth/token/revoke-self",
        Some(token),
        Some(body),
    )?;
    match reply.status {
        200 | 204 | 401 | 403 => Ok(()),
        status => Err(unexpected(client, status)),
    }
}

/// `POST sys/capabilities-self`: what the token may do at each path
/// (`read`, `create`, `update`, `delete`, `list`, `deny`, `root`, …).
pub(crate) fn capabilities_self(
    client: &BaoClient,
    token: &Zeroizing<String>,
    paths: &[String],
) -> Result<HashMap<String, Vec<String>>> {
    let body = Zeroizing::new(
        serde_json::to_vec(&serde_json::json!({ "paths": paths }))
            .map_err(|_| unexpected_shape(client, "paths Keybearer could not send"))?,
    );
    let reply = client.call(
        Method::POST,
        "sys/capabilities-self",
        Some(token),
        Some(body),
    )?;
    #[derive(Deserialize)]
    struct Capabilities {
        data: HashMap<String, Vec<String>>,
    }
    match reply.status {
        200 => Ok(reply.json::<Capabilities>(client.address())?.data),
        401 | 403 => Err(sign_in_required(client)),
        status => Err(unexpected(client, status)),
    }
}

pub(crate) fn sign_in_required(client: &BaoClient) -> Error {
    Error::Team(TeamError::SignInRequired {
        server: client.address().to_string(),
    })
}

/// A status no endpoint here answers on purpose: a sealed or failing
/// server (5xx), a proxy in the way.
pub(crate) fn unexpected(client: &BaoClient, status: u16) -> Error {
    let server = client.address().to_string();
    Error::Team(match status {
        502..=504 => TeamError::Unreachable {
            server,
            cause: format!("HTTP {status}: the server or a proxy in front of it is not available"),
        },
        _ => TeamError::BadAnswer {
            server,
            problem: format!("HTTP {status}"),
        },
    })
}

pub(crate) fn unexpected_shape(client: &BaoClient, problem: &str) -> Error {
    Error::Team(TeamError::BadAnswer {
        server: client.address().to_string(),
        problem: problem.to_string(),
    })
}
