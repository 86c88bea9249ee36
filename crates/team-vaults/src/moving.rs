//! Moving a vault of this computer to a team server (docs/architecture.md,
//! "Team vaults"), so that nothing is lost whatever fails:
//!
//! 1. [`plan`]: the vault is local, every credential can be shared (an
//!    OAuth sign-in cannot: it belongs to one person), the sign-in may write
//!    the folder — checked before anything is sent.
//! 2. [`copy`]: the folder found or made; every credential compared with
//!    what the folder already holds first (one that differs stops the move
//!    before anything is written: it would replace a teammate's); then each
//!    written (check-and-set: only where nothing is), and every one read
//!    back and compared with the local value.
//! 3. [`finish`]: only then, in one transaction, the team vault takes the
//!    local vault's name, environment and app connections, and the local
//!    vault and its sealed tokens are deleted.
//!
//! A failure in 1 or 2 (the server stopping midway) leaves the local vault
//! as it was; what was already copied stays in the folder, and running the
//! move again finds those copies equal and goes on. The front end asks the
//! user (saying who will be able to read the values) before 2.
//!
//! The way back (a team vault to this computer) is [`local`].

use keybearer_base::error::{Error, Result};
use keybearer_team::{Attached, TeamSecret, TeamServer, TeamVault};
use keybearer_vault::{
    AccessToken, Credential, CredentialSecret, CredentialType, Engine, SecretHeader,
    TeamServerRecord, Vault,
};
use zeroize::Zeroizing;

use crate::servers::settings_of;

pub mod local;
use crate::vaults::folder_from_name;

/// A move checked and ready to copy.
pub struct MovePlan {
    pub vault: Vault,
    pub server: TeamServerRecord,
    /// The folder on the server (one name).
    pub folder: String,
    /// Its path as `bao kv` shows it (`secret/keybearer/production/github/`).
    pub path: String,
    pub credentials: Vec<Credential>,
    signed_in: TeamServer,
    team: TeamVault,
}

/// What [`copy`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Written now.
    pub written: usize,
    /// Already in the folder with the same value (an earlier attempt).
    pub already_there: usize,
    pub folder: Attached,
}

/// Checks a move of `vault` to `server` (in `folder`, default made from its
/// name) without sending anything but questions.
pub fn plan(
    engine: &mut Engine,
    vault: &str,
    server: &str,
    folder: Option<&str>,
) -> Result<MovePlan> {
    let vault = engine.catalog().vault(vault)?;
    if let Some(team) = &vault.team {
        return Err(Error::invalid(
            "vault",
            format!(
                "\"{}\" is already a team vault (on {}).",
                vault.display_name, team.server_name
            ),
        ));
    }
    let record = engine.team_catalog().server(server)?;
    let credentials = engine.catalog().credentials(&vault.id)?;
    let personal: Vec<&str> = credentials
        .iter()
        .filter(|credential| credential.credential_type == CredentialType::McpOauth)
        .map(|credential| credential.mcp_server_url.as_str())
        .collect();
    if !personal.is_empty() {
        return Err(Error::invalid(
            "vault",
            format!(
                "\"{}\" holds OAuth sign-ins ({}), which belong to you and cannot be kept on a team server. Move them to another vault of this computer (or delete them) first; nothing was moved.",
                vault.display_name,
                personal.join(", ")
            ),
        ));
    }
    let folder = folder.map_or_else(|| folder_from_name(&vault.display_name), str::to_string);
    let team = TeamVault::new("tvl_move", &vault.environment, &folder)?;
    let signed_in = TeamServer::resume(settings_of(&record)?)?;
    signed_in.check_write(&team)?;
    let path = format!(
        "{}/{}/",
        signed_in.settings().mount(),
        signed_in.settings().vault_path(&team)
    );
    Ok(MovePlan {
        vault,
        server: record,
        folder: team.name.clone(),
        path,
        credentials,
        signed_in,
        team,
    })
}

/// A local credential's value as a team secret (a copy, wiped when dropped).
fn team_copy(secret: &CredentialSecret) -> Result<TeamSecret> {
    match secret {
        CredentialSecret::Bearer(token) => Ok(TeamSecret::Bearer(AccessToken::new(
            token.expose().to_string(),
        )?)),
        CredentialSecret::Headers(headers) => TeamSecret::headers(
            headers
                .iter()
                .map(|header| SecretHeader::new(header.name(), header.expose_value().to_string()))
                .collect::<Result<Vec<_>>>()?,
        ),
        CredentialSecret::OAuth(_) => Err(Error::invalid(
            "vault",
            "An OAuth sign-in cannot be kept on a team server.",
        )),
    }
}

/// The headers a secret sends, to compare two without printing either.
fn sent(secret: &TeamSecret) -> Vec<(String, Zeroizing<String>)> {
    use keybearer_source::OpenedSecret;
    secret
        .pairs()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

/// Copies every credential to the folder and reads each back (see the
/// module's header). The local vault is not touched.
pub fn copy(engine: &mut Engine, plan: &MovePlan) -> Result<Copied> {
    let tokens = engine.tokens()?;
    let ids = [plan.vault.id.clone()];
    let mut values = Vec::with_capacity(plan.credentials.len());
    for credential in &plan.credentials {
        let injection = tokens
            .lookup(&ids, &credential.mcp_server_url)?
            .ok_or_else(|| Error::not_found("credential", credential.id.clone()))?;
        let secret = injection
            .token
            .downcast::<CredentialSecret>()
            .ok_or_else(|| Error::not_found("credential", credential.id.clone()))?;
        values.push((credential, team_copy(secret)?));
    }
    drop(tokens);
    let folder = plan.signed_in.attach_vault(&plan.team)?;
    // Everything compared before anything is written.
    let mut to_write = Vec::new();
    let mut already_there = 0;
    for (credential, secret) in &values {
        match plan.signed_in.credential(&plan.team, &credential.mcp_server_url)? {
            None => to_write.push((*credential, secret)),
            Some(found) if sent(&found.secret) == sent(secret) => already_there += 1,
            Some(_) => {
                return Err(Error::invalid(
                    "vault",
                    format!(
                        "The team folder {} already holds a different credential for {}. Moving would replace a teammate's: nothing was changed here, and nothing more was written there. Pick another folder with --folder, or ask your team.",
                        plan.path, credential.mcp_server_url
                    ),
                ))
            }
        }
    }
    for (credential, secret) in &to_write {
        plan.signed_in.put_credential_with(
            &plan.team,
            &credential.mcp_server_url,
            Some(credential.protocol),
            secret,
            0,
        )?;
    }
    // Read back: what the server now holds is what this computer held.
    for (credential, secret) in &values {
        let back = plan
            .signed_in
            .credential(&plan.team, &credential.mcp_server_url)?;
        if back.is_none_or(|found| sent(&found.secret) != sent(secret)) {
            return Err(Error::invalid(
                "vault",
                format!(
                    "The team server did not give back the credential for {} as it was written, so nothing was removed from this computer. Try again, or ask your team's administrator.",
                    credential.mcp_server_url
                ),
            ));
        }
    }
    Ok(Copied {
        written: to_write.len(),
        already_there,
        folder,
    })
}

/// Replaces the local vault by the team vault (see the module's header).
pub fn finish(engine: &mut Engine, plan: &MovePlan) -> Result<Vault> {
    engine
        .team_catalog()
        .replace_with_team_vault(&plan.vault.id, &plan.server.id, &plan.folder)
}
