//! vault create | list | show | rename | delete. A team vault (one that
//! lives on a team server, docs/architecture.md "Team vaults") is listed
//! with its server, shown with its server's credentials, and always with
//! the words that the server's administrators can read them.

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

/// `vault create --team SERVER`: the folder is found on the server (shared)
/// or made there.
pub fn create_team(
    engine: &mut Engine,
    out: &Output,
    name: &str,
    environment: Option<&str>,
    server: &str,
    folder: Option<&str>,
) -> Result<(), Error> {
    let environment = match environment {
        Some(environment) => environment.to_string(),
        None => engine.catalog().active_environment()?,
    };
    let (vault, attached) =
        keybearer_team_vaults::create_team_vault(engine, name, &environment, server, folder)?;
    let notice = super::team::notice(engine, &vault).unwrap_or_default();
    let team = vault.team.clone();
    out.either(&vault, || {
        let (server, folder) = team
            .as_ref()
            .map(|team| (team.server_name.as_str(), team.folder.as_str()))
            .unwrap_or_default();
        outln!(
            "{} team vault \"{}\" ({}) in {}: folder \"{}\" on the team server \"{}\".",
            match attached {
                keybearer_team_vaults::Attached::Existing => "Joined the",
                keybearer_team_vaults::Attached::Created => "Created the",
            },
            vault.display_name,
            vault.id,
            vault.environment,
            folder,
            server
        );
        outln!("{notice}");
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
                let (credentials, place) = match &vault.team {
                    None => (vault.credential_count.to_string(), "this computer".to_string()),
                    Some(team) => ("on server".to_string(), format!("team: {}", team.server_name)),
                };
                vec![
                    vault.id.clone(),
                    vault.display_name.clone(),
                    vault.environment.clone(),
                    place,
                    credentials,
                    when(vault.last_used_at),
                ]
            })
            .collect();
        table(
            &["ID", "NAME", "ENVIRONMENT", "KEPT ON", "CREDENTIALS", "LAST USED"],
            &rows,
        );
        if vaults.iter().any(|vault| vault.team.is_some()) {
            outln!();
            outln!("Team vaults keep their credentials on their team server, whose administrators can read them.");
        }
    })
}

pub fn show(engine: &mut Engine, out: &Output, vault: &str) -> Result<(), Error> {
    let vault = engine.catalog().vault(vault)?;
    let (credentials, notice) = match &vault.team {
        None => (engine.catalog().credentials(&vault.id)?, None),
        Some(_) => (
            keybearer_team_vaults::list_credentials(engine, &vault)?,
            super::team::notice(engine, &vault),
        ),
    };
    out.either(
        &json!({ "vault": vault, "credentials": credentials }),
        || {
            outln!("Vault:        {} ({})", vault.display_name, vault.id);
            outln!("Environment:  {}", vault.environment);
            if let Some(team) = &vault.team {
                outln!(
                    "Team server:  {} ({}), folder \"{}\"",
                    team.server_name,
                    team.server_address,
                    team.folder
                );
            }
            outln!("Created:      {}", vault.created_at);
            outln!("Updated:      {}", vault.updated_at);
            outln!();
            super::credentials::print_table(&credentials);
            if let Some(notice) = &notice {
                outln!();
                outln!("{notice}");
            }
        },
    )
}

pub fn rename(engine: &mut Engine, out: &Output, vault: &str, new_name: &str) -> Result<(), Error> {
    let vault = engine.catalog().rename_vault(vault, new_name)?;
    out.either(&vault, || outln!("Renamed to \"{}\".", vault.display_name))
}

pub fn delete(engine: &mut Engine, out: &Output, vault: &str, yes: bool) -> Result<(), Error> {
    let target = engine.catalog().vault(vault)?;
    if let Some(team) = &target.team {
        if !yes {
            input::confirm(
                &format!(
                    "Remove the team vault \"{}\" ({}) from this computer? Its credentials stay on the team server \"{}\" for your team; this computer's sessions and apps lose access to them.",
                    target.display_name, target.environment, team.server_name
                ),
                &target.display_name,
            )?;
        }
        let deleted = engine.catalog().delete_vault(&target.id)?;
        return out.either(&json!({ "deleted": deleted }), || {
            outln!(
                "Removed the team vault \"{}\" from this computer (it stays on the team server).",
                deleted.display_name
            );
        });
    }
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
