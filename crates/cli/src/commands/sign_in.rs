//! `credential add --oauth`: signs in to an MCP server's authorization
//! service. The system's browser opener (`xdg-open`, `open`, `start`) is
//! given only the sign-in's start address on 127.0.0.1 (any program can
//! read a command line; the listener sends the browser on to the service,
//! see docs/architecture.md, "OAuth"). Stderr shows that start address too,
//! to open by hand when no browser appeared; never the authorization
//! address, whose `state` and PKCE challenge would stay in the terminal's
//! scrollback and in whatever records it (tmux, `script`, CI logs). The
//! user signs in there, the browser comes back to the listener, and the
//! grant is returned to be sealed into the vault. No token is typed.
//!
//! Where the service publishes no metadata, the endpoints a known server
//! pins are used ([`KnownSignIn`]); signing in again (`credential replace`)
//! as an OAuth app the user made uses the app's id, secret and endpoints
//! sealed with the credential, so nothing is typed again.

use std::process::{Command, Stdio};

use keybearer_vault::oauth::{
    self, ClientChoice, OAuthSecret, PinnedEndpoints, PreRegisteredClient, SignInOptions,
};
use keybearer_vault::{CredentialSecret, Error};

use crate::cli::SecretArgs;
use crate::input;

/// What Keybearer knows of a sign-in besides the user's flags.
#[derive(Clone, Debug, Default)]
pub struct KnownSignIn {
    /// The endpoints a known server's entry pins (used where the service
    /// publishes no metadata).
    pub pinned: Option<PinnedEndpoints>,
    /// The client of the credential signed in again, when the user made it.
    pub client: Option<ClientChoice>,
}

pub fn sign_in(url: &str, args: &SecretArgs) -> Result<CredentialSecret, Error> {
    let mut options = SignInOptions {
        pinned: args.known.pinned.clone(),
        ..SignInOptions::default()
    };
    if let Some(client) = &args.known.client {
        options.client = client.clone();
    }
    if let Some(client_id) = &args.client_id {
        let client_secret = if args.client_secret {
            Some(OAuthSecret::new(input::read_client_secret()?.to_string()))
        } else {
            None
        };
        options.client = ClientChoice::PreRegistered(PreRegisteredClient {
            client_id: client_id.clone(),
            client_secret,
            token_endpoint_auth: None,
        });
    }
    options.scope.clone_from(&args.scope);
    let pending = oauth::start_sign_in(url, &options)?;
    open_and_show(pending.browser_url());
    let stored = pending.finish()?;
    // Truthful about renewal: without a refresh token the sign-in ends
    // with this access token.
    eprintln!("Signed in. {}", stored.grant.renewal_notice());
    Ok(CredentialSecret::OAuth(Box::new(stored)))
}

/// Opens the sign-in's start page and shows its address (to open by hand
/// if no browser appeared).
pub(crate) fn open_and_show(start: &str) {
    if open(start) {
        eprintln!("Your browser should now show the sign-in page (waiting up to 5 minutes).");
        eprintln!("Only if no browser window appeared, open this address in your browser:");
    } else {
        eprintln!("Open this address in your browser to sign in (waiting up to 5 minutes):");
    }
    // The start page, never the authorization address: its `state` (and
    // an OAuth sign-in's PKCE challenge) would stay in the scrollback and
    // in terminal logs.
    eprintln!("  {start}");
}

/// Asks the system to open `address` (the start page: nothing secret);
/// false when there is no opener to run (the user opens it by hand).
pub(crate) fn open(address: &str) -> bool {
    let opener: &[&str] = if cfg!(target_os = "macos") {
        &["open"]
    } else if cfg!(windows) {
        &["cmd", "/C", "start", ""]
    } else {
        &["xdg-open"]
    };
    let spawned = Command::new(opener[0])
        .args(&opener[1..])
        .arg(address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}
