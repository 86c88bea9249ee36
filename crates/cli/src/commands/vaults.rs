//! vault create | list | show | rename | delete.

use keybearer_vault::{Engine, Error, NewCredential, Protocol};
use serde_json::json;

use crate::cli::ProtocolArg;
use crate::input;
use crate::output::{table, when, Output};

pub fn parse_protocol(arg: &ProtocolArg) -> Result<Option<Protocol>, Error> {
    arg.protocol.as_deref().map(str::parse).transpose()
}

pub fn create(
    engine: &mut Engine,
    out: &Output,
    name: &str,
    environment: Option<&str>,
    credential_url: Option<&str>,
    protocol: &ProtocolArg,
) -> Result<(), Error> {
    let environment = match environment {
        Some(environment) => environment.to_string(),
        None => engine.catalog().active_environment()?,
    };
    let mut initial = Vec::new();
    if let Some(url) = credential_url {
        let protocol = parse_protocol(protocol)?;
        keybearer_vault::normalize_server_url(url)?;
        super::unlock(engine)?;
        initial.push(NewCredential {
            mcp_server_url: url.to_string(),
            protocol,
            secret: input::read_token()?.into(),
        });
    }
    let vault = engine.catalog().create_vault(name, &environment, initial)?;
    out.either(&vault, || {
        outln!(
            "Created vault \"{}\" ({}) in {}.",
            vault.display_name,
            vault.id,
            vault.environment
        );
    })
}

pub fn list(engine: &mut Engine, out: &Output, environment: Option<&str>) -> Result<(), Error> {
    let vaults = engine.catalog().vaults(environment)?;
    out.either(&vaults, || {
        if vaults.is_empty() {
            outln!("No vaults yet. Create one with: keybearer vault create \"My vault\" --env development");
            return;
        }
        let rows: Vec<Vec<String>> = vaults
            .iter()
            .map(|vault| {
                vec![
                    vault.id.clone(),
                    vault.display_name.clone(),
                    vault.environment.clone(),
                    vault.credential_count.to_string(),
                    when(vault.last_used_at),
                ]
            })
            .collect();
        table(&["ID", "NAME", "ENVIRONMENT", "CREDENTIALS", "LAST USED"], &rows);
    })
}

pub fn show(engine: &mut Engine, out: &Output, vault: &str) -> Result<(), Error> {
    let vault = engine.catalog().vault(vault)?;
    let credentials = engine.catalog().credentials(&vault.id)?;
    out.either(
        &json!({ "vault": vault, "credentials": credentials }),
        || {
            outln!("Vault:        {} ({})", vault.display_name, vault.id);
            outln!("Environment:  {}", vault.environment);
            outln!("Created:      {}", vault.created_at);
            outln!("Updated:      {}", vault.updated_at);
            outln!();
            super::credentials::print_table(&credentials);
        },
    )
}

pub fn rename(engine: &mut Engine, out: &Output, vault: &str, new_name: &str) -> Result<(), Error> {
    let vault = engine.catalog().rename_vault(vault, new_name)?;
    out.either(&vault, || outln!("Renamed to \"{}\".", vault.display_name))
}

pub fn delete(engine: &mut Engine, out: &Output, vault: &str, yes: bool) -> Result<(), Error> {
    let target = engine.catalog().vault(vault)?;
    if !yes {
        input::confirm(
            &format!(
                "Delete vault \"{}\" ({}) and its {} credential(s)? Agents will lose access to those servers. This cannot be undone.",
                target.display_name, target.environment, target.credential_count
            ),
            &target.display_name,
        )?;
    }
    let deleted = engine.catalog().delete_vault(&target.id)?;
    out.either(&json!({ "deleted": deleted }), || {
        outln!(
            "Deleted vault \"{}\" and {} credential(s).",
            deleted.display_name,
            deleted.credential_count
        );
    })
}
