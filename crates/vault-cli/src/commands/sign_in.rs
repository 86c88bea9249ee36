//! `credential add --oauth`: signs in to an MCP server's authorization
//! service. The sign-in address goes to stderr and to the system's browser
//! opener (`xdg-open`, `open`, `start`) when there is one; the user signs in
//! there, the browser comes back to a one-shot listener on 127.0.0.1, and
//! the grant is returned to be sealed into the vault. No token is typed.

use std::process::{Command, Stdio};

use vault_core::oauth::{self, ClientChoice, OAuthSecret, PreRegisteredClient, SignInOptions};
use vault_core::{CredentialSecret, Error};

use crate::cli::SecretArgs;
use crate::input;

pub fn sign_in(url: &str, args: &SecretArgs) -> Result<CredentialSecret, Error> {
    let mut options = SignInOptions::default();
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
    let stored = oauth::sign_in(url, &options, &open)?;
    eprintln!("Signed in. Keybearer keeps this sign-in fresh from now on.");
    Ok(CredentialSecret::OAuth(Box::new(stored)))
}

/// Shows the address and asks the system to open it; a missing opener is
/// fine (the user opens the address by hand).
#[allow(clippy::unnecessary_wraps)] // the opener signature the OAuth flow takes
fn open(address: &str) -> Result<(), Error> {
    eprintln!("Open this address in your browser to sign in (waiting up to 5 minutes):");
    eprintln!("  {address}");
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
    if let Ok(mut child) = spawned {
        std::thread::spawn(move || child.wait());
    }
    Ok(())
}
