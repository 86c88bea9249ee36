//! Credentials of team vaults, with the same commands and forms as local
//! ones (docs/architecture.md, "Team vaults"): listed (never a value),
//! added, replaced (check-and-set from the version read), deleted and
//! tested against their MCP server. Each change is also written to this
//! computer's audit trail; the server records who made it.
//!
//! A team credential's id here is `tcr_…` (`keybearer_team::credential_id`):
//! finding one by id lists the team vaults' folders on their servers.
//! OAuth sign-ins are never shared through a team server.

use keybearer_base::error::{Error, Result};
use keybearer_team::{credential_id, TeamCredential, TeamSecret, TeamServer, TeamVault};
use keybearer_vault::{
    test_connection, ConnectionTest, Credential, CredentialSecret, Engine, EventKind, Protocol,
    Timestamp, Vault,
};

use crate::vaults::connect;

/// Team credential ids start with this.
pub const CREDENTIAL_ID_PREFIX: &str = "tcr_";

fn model(server_id: &str, vault: &Vault, found: &TeamCredential) -> Credential {
    Credential {
        id: credential_id(server_id, &vault.id, &found.url),
        vault_id: vault.id.clone(),
        mcp_server_url: found.url.clone(),
        protocol: found.protocol,
        credential_type: found.secret.kind(),
        header_names: found.secret.header_names(),
        needs_sign_in: false,
        wanted_scope: None,
        created_at: Timestamp::parse_rfc3339(&found.written_at).unwrap_or(Timestamp(0)),
        last_used_at: None,
    }
}

/// A team vault's credentials, as the local ones are listed (no value).
pub fn list(engine: &mut Engine, vault: &Vault) -> Result<Vec<Credential>> {
    let (server, team, record) = connect(engine, vault)?;
    Ok(server
        .credentials(&team)?
        .iter()
        .map(|found| model(&record.id, vault, found))
        .collect())
}

/// A team credential found by its id: its vault, server and what was read.
pub struct Found {
    pub vault: Vault,
    pub server: TeamServer,
    pub team: TeamVault,
    pub credential: Credential,
    /// The version read (what a change names).
    pub version: u64,
    pub secret: TeamSecret,
}

/// The team credential `id` (`tcr_…`), looked for in every team vault here.
pub fn find(engine: &mut Engine, id: &str) -> Result<Found> {
    let id = id.trim();
    let team_vaults: Vec<Vault> = engine
        .catalog()
        .vaults(None)?
        .into_iter()
        .filter(|vault| vault.team.is_some())
        .collect();
    for vault in team_vaults {
        let (server, team, record) = connect(engine, &vault)?;
        for found in server.credentials(&team)? {
            let credential = model(&record.id, &vault, &found);
            if credential.id == id {
                return Ok(Found {
                    vault,
                    server,
                    team,
                    credential,
                    version: found.version,
                    secret: found.secret,
                });
            }
        }
    }
    Err(Error::not_found("credential", id))
}

/// What a local secret is as a team secret; OAuth sign-ins are refused.
pub fn team_secret(secret: CredentialSecret) -> Result<TeamSecret> {
    match secret {
        CredentialSecret::Bearer(token) => Ok(TeamSecret::Bearer(token)),
        CredentialSecret::Headers(headers) => TeamSecret::headers(headers),
        CredentialSecret::OAuth(_) => Err(Error::invalid(
            "oauth",
            "An OAuth sign-in cannot be kept in a team vault: it belongs to the person who signed in. Each member signs in to that server in a vault of their own computer.",
        )),
    }
}

pub(crate) fn local_secret(secret: TeamSecret) -> Result<CredentialSecret> {
    match secret {
        TeamSecret::Bearer(token) => Ok(CredentialSecret::Bearer(token)),
        TeamSecret::Headers(headers) => CredentialSecret::headers(headers),
    }
}

/// Adds a credential to a team vault.
pub fn add(
    engine: &mut Engine,
    vault: &Vault,
    url: &str,
    protocol: Option<Protocol>,
    secret: CredentialSecret,
) -> Result<Credential> {
    let secret = team_secret(secret)?;
    let (server, team, record) = connect(engine, vault)?;
    if let Some(existing) = server.credential(&team, url)? {
        return Err(Error::DuplicateUrl { url: existing.url });
    }
    server.put_credential_with(&team, url, protocol, &secret, 0)?;
    let found = server
        .credential(&team, url)?
        .ok_or_else(|| Error::not_found("credential", url))?;
    let credential = model(&record.id, vault, &found);
    record_change(engine, EventKind::CredentialCreated, vault, &credential)?;
    Ok(credential)
}

/// Replaces a team credential's value (check-and-set: if a teammate changed
/// it since it was read, nothing is written).
pub fn replace(engine: &mut Engine, id: &str, secret: CredentialSecret) -> Result<Credential> {
    let secret = team_secret(secret)?;
    let found = find(engine, id)?;
    found.server.put_credential_with(
        &found.team,
        &found.credential.mcp_server_url,
        Some(found.credential.protocol),
        &secret,
        found.version,
    )?;
    record_change(
        engine,
        EventKind::CredentialReplaced,
        &found.vault,
        &found.credential,
    )?;
    Ok(found.credential)
}

/// Deletes a team credential (its current version: the server keeps the
/// history).
pub fn delete(engine: &mut Engine, id: &str) -> Result<Credential> {
    let found = find(engine, id)?;
    found
        .server
        .delete_credential(&found.team, &found.credential.mcp_server_url)?;
    record_change(
        engine,
        EventKind::CredentialDeleted,
        &found.vault,
        &found.credential,
    )?;
    Ok(found.credential)
}

/// Tests a team credential against its MCP server, as a local one is.
pub fn test(engine: &mut Engine, id: &str) -> Result<(Credential, ConnectionTest)> {
    let found = find(engine, id)?;
    let result = test_found(engine, &found.vault, &found.credential, found.secret)?;
    Ok((found.credential, result))
}

/// Tests every credential of a team vault (the folder listed once).
pub fn test_vault(
    engine: &mut Engine,
    vault: &Vault,
) -> Result<Vec<(Credential, Result<ConnectionTest>)>> {
    let (server, team, record) = connect(engine, vault)?;
    let mut results = Vec::new();
    for found in server.credentials(&team)? {
        let credential = model(&record.id, vault, &found);
        let result = test_found(engine, vault, &credential, found.secret);
        results.push((credential, result));
    }
    Ok(results)
}

fn test_found(
    engine: &mut Engine,
    vault: &Vault,
    credential: &Credential,
    secret: TeamSecret,
) -> Result<ConnectionTest> {
    let secret = local_secret(secret)?;
    let result = test_connection(
        &credential.mcp_server_url,
        Some(credential.protocol),
        &secret,
    )?;
    drop(secret);
    let outcome = serde_json::to_value(result.outcome)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string));
    engine.team_catalog().record(
        EventKind::CredentialTested,
        Some(vault),
        Some(&credential.id),
        Some(&credential.mcp_server_url),
        outcome.as_deref(),
    )?;
    Ok(result)
}

fn record_change(
    engine: &mut Engine,
    kind: EventKind,
    vault: &Vault,
    credential: &Credential,
) -> Result<()> {
    engine.team_catalog().record(
        kind,
        Some(vault),
        Some(&credential.id),
        Some(&credential.mcp_server_url),
        Some("on the team server"),
    )
}
