//! The `credential` commands on team vaults (docs/architecture.md, "Team
//! vaults"): the same commands and the same input as for local vaults;
//! the values go to (and are tested from) the team server, and every
//! output says that its administrators can read them.

use keybearer_team_vaults as team;
use keybearer_vault::{Engine, Error, Protocol, Vault};
use serde_json::json;

use crate::cli::SecretArgs;
use crate::input;
use crate::output::Output;

/// OAuth sign-ins belong to one person: refused before anything is asked.
fn refuse_oauth(secret: &SecretArgs) -> Result<(), Error> {
    if secret.oauth || secret.from_json {
        return Err(Error::invalid(
            "oauth",
            "An OAuth sign-in cannot be kept in a team vault: it belongs to the person who signed in. Each member signs in to that server in a vault of their own computer (a token or headers can be shared).",
        ));
    }
    Ok(())
}

fn say_who_can_read(engine: &mut Engine, vault: &Vault) {
    if let Some(notice) = super::team::notice(engine, vault) {
        outln!("{notice}");
    }
}

pub fn add(
    engine: &mut Engine,
    out: &Output,
    vault: &Vault,
    url: &str,
    protocol: Option<Protocol>,
    secret: &SecretArgs,
) -> Result<(), Error> {
    refuse_oauth(secret)?;
    let url = keybearer_vault::normalize_server_url(url)?;
    // Signed in and allowed to write, before a secret is asked for.
    let (server, folder, _) = team::connect(engine, vault)?;
    server.check_write(&folder)?;
    drop(server);
    let secret = input::read_credential_secret(secret, None, &url)?;
    let credential = team::add_credential(engine, vault, &url, protocol, secret)?;
    out.either(&credential, || {
        outln!(
            "Added credential {} for {} ({}) to the team vault \"{}\". Keybearer will not show it again.",
            credential.id,
            credential.mcp_server_url,
            credential.protocol,
            vault.display_name
        );
        say_who_can_read(engine, vault);
    })
}

pub fn list(engine: &mut Engine, out: &Output, vault: &Vault) -> Result<(), Error> {
    let credentials = team::list_credentials(engine, vault)?;
    out.either(&credentials, || {
        super::credentials::print_table(&credentials);
        say_who_can_read(engine, vault);
    })
}

pub fn delete(engine: &mut Engine, out: &Output, id: &str, yes: bool) -> Result<(), Error> {
    let found = team::find_credential(engine, id)?;
    if !yes {
        input::confirm(
            &format!(
                "Delete the credential for {} from the team vault \"{}\"? Everyone using this team vault loses access to that server (the server keeps its history).",
                found.credential.mcp_server_url, found.vault.display_name
            ),
            "delete",
        )?;
    }
    let deleted = team::delete_credential(engine, &found.credential.id)?;
    out.either(&json!({ "deleted": deleted }), || {
        outln!(
            "Deleted the credential for {} from the team vault \"{}\".",
            deleted.mcp_server_url,
            found.vault.display_name
        );
    })
}

pub fn replace(
    engine: &mut Engine,
    out: &Output,
    id: &str,
    secret: &SecretArgs,
) -> Result<(), Error> {
    refuse_oauth(secret)?;
    let found = team::find_credential(engine, id)?;
    found.server.check_write(&found.team)?;
    let same = (found.credential.credential_type == keybearer_vault::CredentialType::Headers)
        .then_some(found.credential.header_names.as_slice());
    let secret = input::read_credential_secret(secret, same, &found.credential.mcp_server_url)?;
    let vault = found.vault.clone();
    drop(found);
    let replaced = team::replace_credential(engine, id, secret)?;
    out.either(&json!({ "replaced": replaced.id, "credential": replaced }), || {
        outln!(
            "Replaced the token for {} in the team vault \"{}\" (id {} stays). Running sessions and apps of your team use it within their check interval.",
            replaced.mcp_server_url, vault.display_name, replaced.id
        );
        say_who_can_read(engine, &vault);
    })
}
