//! Team servers on this computer (docs/architecture.md, "Team vaults"):
//! adding one (its address checked by the rule local credentials follow,
//! its CA file's certificates fingerprinted for the user to compare before
//! anything trusts them, the server asked whether it answers over a
//! connection this computer trusts), signing in and out, removing it.
//!
//! The sign-in itself (the token) goes to the OS keychain through
//! `keybearer-team`; this computer's database keeps the server's settings
//! and its CA certificates (public), never a token.

use std::time::Duration;

use keybearer_base::error::{Error, Result};
use keybearer_base::secret::UserSecret;
use keybearer_net::upstream::ExtraRoots;
use keybearer_team::{Health, TeamServer, TeamServerSettings, Who};
use keybearer_vault::{Engine, EventKind, NewTeamServer, TeamServerRecord};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The KV version 2 mount used when none is named (OpenBao's and Vault's
/// dev servers have `secret`).
pub const DEFAULT_MOUNT: &str = "secret";

/// What the user asked to add.
#[derive(Debug, Clone)]
pub struct AddServer {
    pub address: String,
    /// The server's name here (default: its host).
    pub name: Option<String>,
    pub mount: Option<String>,
    /// Where environments live (`keybearer/{environment}/` by default).
    pub path_template: Option<String>,
    /// The CA certificates (PEM) to trust for this server only.
    pub ca_pem: Option<Vec<u8>>,
    pub check_interval: Option<Duration>,
    pub last_good_limit: Option<Duration>,
}

/// A server checked and ready to be stored: what the front end shows the
/// user (the CA's fingerprints, what the server said) before it is.
#[derive(Debug, Clone)]
pub struct CheckedServer {
    pub new: NewTeamServer,
    pub health: Health,
}

/// SHA-256 fingerprints (`AB:CD:…`) of the certificates in a PEM CA file,
/// refusing a file that holds none usable as a CA.
pub fn ca_fingerprints(pem: &[u8]) -> Result<Vec<String>> {
    let roots = ExtraRoots::from_pem(pem, "ca_file")?;
    Ok(roots
        .certificates()
        .map(|der| {
            data_encoding::HEXUPPER
                .encode(&Sha256::digest(der))
                .as_bytes()
                .chunks(2)
                .map(|pair| String::from_utf8_lossy(pair).into_owned())
                .collect::<Vec<_>>()
                .join(":")
        })
        .collect())
}

/// Checks what the user gave (address, mount, paths, CA) and asks the
/// server `sys/health` over a connection this computer trusts. Stores
/// nothing.
pub fn check_server(request: &AddServer) -> Result<CheckedServer> {
    let ca_fingerprints = match &request.ca_pem {
        Some(pem) => ca_fingerprints(pem)?,
        None => Vec::new(),
    };
    let mount = request.mount.as_deref().unwrap_or(DEFAULT_MOUNT);
    let mut settings = TeamServerSettings::new("tsv_check", &request.address, mount)?;
    if let Some(template) = &request.path_template {
        settings = settings.with_path_template(template)?;
    }
    if let Some(pem) = &request.ca_pem {
        settings = settings.with_ca_pem(pem.clone());
    }
    let check_interval = request
        .check_interval
        .unwrap_or(keybearer_team::DEFAULT_CHECK_INTERVAL);
    let last_good = request
        .last_good_limit
        .unwrap_or(keybearer_team::DEFAULT_LAST_GOOD_LIMIT);
    if !(1..=86_400).contains(&check_interval.as_secs()) {
        return Err(Error::invalid(
            "check_interval",
            "Check team credentials between every second and once a day (the default is every 30 seconds).",
        ));
    }
    if last_good.as_secs() > 7 * 86_400 {
        return Err(Error::invalid(
            "last_good_limit",
            "A team credential may be used at most a week after its server last confirmed it (the default is one hour).",
        ));
    }
    let health = TeamServer::health(&settings)?;
    let host = url_host(settings.address());
    Ok(CheckedServer {
        new: NewTeamServer {
            name: request.name.clone().unwrap_or(host),
            address: settings.address().to_string(),
            mount: settings.mount().to_string(),
            path_template: settings.path_template().to_string(),
            ca_pem: request.ca_pem.clone(),
            ca_fingerprints,
            check_interval_secs: check_interval.as_secs(),
            last_good_secs: last_good.as_secs(),
        },
        health,
    })
}

fn url_host(address: &str) -> String {
    address
        .split_once("://")
        .map_or(address, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or(address)
        .to_string()
}

/// Stores a checked server.
pub fn add_server(engine: &mut Engine, checked: &CheckedServer) -> Result<TeamServerRecord> {
    engine.team_catalog().add_server(&checked.new)
}

/// The settings `keybearer-team` works with, from what is stored.
pub fn settings_of(record: &TeamServerRecord) -> Result<TeamServerSettings> {
    let mut settings = TeamServerSettings::new(&record.id, &record.address, &record.mount)?
        .with_path_template(&record.path_template)?
        .with_check_interval(Duration::from_secs(record.check_interval_secs.max(1)))
        .with_last_good_limit(Duration::from_secs(record.last_good_secs));
    if let Some(pem) = &record.ca_pem {
        settings = settings.with_ca_pem(pem.clone());
    }
    Ok(settings)
}

/// How to sign in.
pub enum SignIn<'a> {
    /// `userpass`: a user name and password.
    Password {
        user: &'a str,
        password: &'a UserSecret,
    },
    /// A token the user pasted.
    Token(&'a UserSecret),
    /// The server's OIDC auth method, through the browser: `opener` gets
    /// the loopback start page's address (nothing secret in it).
    Oidc {
        options: &'a keybearer_team::OidcOptions,
        opener: &'a dyn Fn(&str) -> Result<()>,
    },
}

/// Signs in to a team server; the token goes to the OS keychain.
pub fn sign_in(engine: &mut Engine, server: &str, how: SignIn<'_>) -> Result<Who> {
    let record = engine.team_catalog().server(server)?;
    let who = sign_in_to(&record, how)?;
    record_sign_in(engine, &record, &who)?;
    Ok(who)
}

/// [`sign_in`]'s part that needs no engine: a sign-in through the browser
/// may wait minutes, and the window's engine stays free meanwhile. Then
/// [`record_sign_in`].
pub fn sign_in_to(record: &TeamServerRecord, how: SignIn<'_>) -> Result<Who> {
    let settings = settings_of(record)?;
    let signed_in = match how {
        SignIn::Password { user, password } => TeamServer::sign_in(settings, user, password)?,
        SignIn::Token(token) => TeamServer::sign_in_with_token(settings, token)?,
        SignIn::Oidc { options, opener } => TeamServer::sign_in_oidc(settings, options, opener)?,
    };
    Ok(signed_in.who())
}

/// Records a sign-in made by [`sign_in_to`] in the activity list.
pub fn record_sign_in(engine: &mut Engine, record: &TeamServerRecord, who: &Who) -> Result<()> {
    let detail = format!("{} as {}", record.name, who.display_name);
    engine
        .team_catalog()
        .record(EventKind::TeamSignedIn, None, None, None, Some(&detail))?;
    Ok(())
}

/// Signs out: the token is revoked on the server (when it answers) and
/// removed from the keychain, and the last good values of the server's
/// vaults are wiped from this computer. `Ok(false)`: the server could not
/// revoke it (it stops working there at its expiry).
pub fn sign_out(engine: &mut Engine, server: &TeamServerRecord) -> Result<bool> {
    let settings = settings_of(server)?;
    let revoked = TeamServer::sign_out_saved(&settings)?;
    let wiped = engine.team_catalog().forget_last_good(&server.id, None)?;
    tracing::info!(server = %server.address, revoked, wiped, "signed out of a team server");
    let detail = if revoked {
        format!("{}: sign-in revoked", server.name)
    } else {
        format!(
            "{}: sign-in removed here (the server could not revoke it)",
            server.name
        )
    };
    engine
        .team_catalog()
        .record(EventKind::TeamSignedOut, None, None, None, Some(&detail))?;
    Ok(revoked)
}

/// Removes a team server from this computer: signs out, then removes it and
/// this computer's entries of its vaults (which stay on the server).
pub fn remove_server(
    engine: &mut Engine,
    server: &TeamServerRecord,
) -> Result<(bool, Vec<keybearer_vault::Vault>)> {
    let revoked = sign_out(engine, server)?;
    let (_, vaults) = engine.team_catalog().remove_server(&server.id)?;
    Ok((revoked, vaults))
}

/// Whether this computer is signed in to a team server, asked of it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SignInState {
    SignedIn {
        /// The server's name for the signed-in user (`userpass-alice`).
        who: String,
    },
    SignedOut,
    /// The server could not be asked; `saved`: a sign-in is kept here.
    Unreachable {
        saved: bool,
        reason: String,
    },
}

/// Asks the server who the saved sign-in is (one `lookup-self`).
pub fn sign_in_state(server: &TeamServerRecord) -> Result<SignInState> {
    let settings = settings_of(server)?;
    if !TeamServer::has_saved_sign_in(&settings)? {
        return Ok(SignInState::SignedOut);
    }
    match TeamServer::resume(settings) {
        Ok(signed_in) => Ok(SignInState::SignedIn {
            who: signed_in.who().display_name,
        }),
        Err(Error::Team(error))
            if error.code() == keybearer_base::ErrorCode::TeamSignInRequired =>
        {
            Ok(SignInState::SignedOut)
        }
        Err(Error::Team(error)) => Ok(SignInState::Unreachable {
            saved: true,
            reason: error.to_string(),
        }),
        Err(other) => Err(other),
    }
}
