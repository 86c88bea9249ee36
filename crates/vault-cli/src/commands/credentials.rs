//! credential add | list | delete | replace | check.

use serde_json::json;
use vault_core::{Credential, Engine, Error, NewCredential};

use crate::cli::ProtocolArg;
use crate::input;
use crate::output::{table, when, Output};

pub fn print_table(credentials: &[Credential]) {
    if credentials.is_empty() {
        outln!("No credentials in this vault yet. Add one with: keybearer credential add --vault <vault> --url <server URL>");
        return;
    }
    let rows: Vec<Vec<String>> = credentials
        .iter()
        .map(|credential| {
            vec![
                credential.id.clone(),
                credential.mcp_server_url.clone(),
                credential.protocol.to_string(),
                credential.credential_type.as_str().to_string(),
                credential.created_at.to_rfc3339(),
                when(credential.last_used_at),
            ]
        })
        .collect();
    table(
        &["ID", "SERVER URL", "PROTOCOL", "TYPE", "ADDED", "LAST USED"],
        &rows,
    );
}

pub fn add(
    engine: &mut Engine,
    out: &Output,
    vault: &str,
    url: &str,
    protocol: &ProtocolArg,
) -> Result<(), Error> {
    // Check everything the user typed before asking for the secret.
    let protocol = super::vaults::parse_protocol(protocol)?;
    vault_core::normalize_server_url(url)?;
    let vault = engine.catalog().vault(vault)?;
    super::unlock(engine)?;
    let token = input::read_token()?;
    let credential = engine.catalog().add_credential(
        &vault.id,
        NewCredential {
            mcp_server_url: url.to_string(),
            protocol,
            access_token: token,
        },
    )?;
    out.either(&credential, || {
        outln!(
            "Added credential {} for {} ({}) to \"{}\". The token is encrypted and will not be shown again.",
            credential.id, credential.mcp_server_url, credential.protocol, vault.display_name
        );
    })
}

pub fn list(engine: &mut Engine, out: &Output, vault: &str) -> Result<(), Error> {
    let credentials = engine.catalog().credentials(vault)?;
    out.either(&credentials, || print_table(&credentials))
}

pub fn delete(engine: &mut Engine, out: &Output, id: &str, yes: bool) -> Result<(), Error> {
    let credential = engine.catalog().credential(id)?;
    if !yes {
        input::confirm(
            &format!(
                "Delete the credential for {}? Sessions using it lose access at once. This cannot be undone.",
                credential.mcp_server_url
            ),
            "delete",
        )?;
    }
    let deleted = engine.catalog().delete_credential(&credential.id)?;
    out.either(&json!({ "deleted": deleted }), || {
        outln!("Deleted the credential for {}.", deleted.mcp_server_url);
    })
}

pub fn replace(engine: &mut Engine, out: &Output, id: &str) -> Result<(), Error> {
    let old = engine.catalog().credential(id)?;
    super::unlock(engine)?;
    let token = input::read_token()?;
    let new = engine.catalog().replace_token(&old.id, token)?;
    out.either(&json!({ "replaced": old.id, "credential": new }), || {
        outln!(
            "Replaced the token for {}. New credential id: {} (the old id {} no longer exists).",
            new.mcp_server_url,
            new.id,
            old.id
        );
    })
}

pub fn check(engine: &mut Engine, out: &Output, vault: Option<&str>) -> Result<(), Error> {
    super::unlock(engine)?;
    let checks = engine.catalog().check_credentials(vault)?;
    let first_failure = checks
        .iter()
        .find(|check| !check.ok)
        .map(|check| check.credential_id.clone());
    out.either(&checks, || {
        for check in &checks {
            match &check.error {
                None => outln!("ok       {}  {}", check.credential_id, check.mcp_server_url),
                Some(error) => outln!(
                    "DAMAGED  {}  {}  {}",
                    check.credential_id,
                    check.mcp_server_url,
                    error
                ),
            }
        }
        if checks.is_empty() {
            outln!("No credentials to check.");
        }
    })?;
    match first_failure {
        Some(credential_id) => Err(Error::Integrity { credential_id }),
        None => Ok(()),
    }
}
