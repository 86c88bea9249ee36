//! What the window shows of a team vault beyond its row
//! (docs/architecture.md, "Team vaults"): what this computer's sign-in may
//! do there, asked of the server (`sys/capabilities-self`) when the vault's
//! page opens (`get_vault`), never in lists (one request per vault). A
//! read-only member's forms are disabled with the reason in plain words;
//! the write commands still refuse on their own (the server is asked again
//! before anything is written, `keybearer_team::TeamServer::check_write`),
//! so the window is never the guard.

use keybearer_team_vaults as team;
use keybearer_vault::{Engine, Error, Result, Vault};
use serde::Serialize;

/// What the sign-in may do in a team vault.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
#[ts(export)]
pub enum TeamAccess {
    /// May add, replace and delete credentials.
    ReadWrite,
    /// May not change credentials; `reason` says so in plain words.
    ReadOnly { reason: String },
    /// The server could not say (out of reach, signed out): `reason`.
    Unknown { reason: String },
}

/// A vault as its page shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct VaultView {
    #[serde(flatten)]
    pub vault: Vault,
    /// Team vaults only: asked of the server when the page opens.
    pub team_access: Option<TeamAccess>,
}

/// `vault` with what its page needs to know of its team server.
pub(crate) fn vault_view(engine: &mut Engine, vault: Vault) -> Result<VaultView> {
    let team_access = match vault.team {
        Some(_) => Some(access(team::connect(engine, &vault).and_then(
            |(server, folder, record)| Ok((server.access(&folder)?, record)),
        ))?),
        None => None,
    };
    Ok(VaultView { vault, team_access })
}

fn access(asked: Result<(team::Access, keybearer_vault::TeamServerRecord)>) -> Result<TeamAccess> {
    match asked {
        Ok((access, _)) if access.write => Ok(TeamAccess::ReadWrite),
        Ok((access, record)) => Ok(TeamAccess::ReadOnly {
            reason: team::read_only_reason(&record, access),
        }),
        Err(Error::Team(error)) => Ok(TeamAccess::Unknown {
            reason: error.to_string(),
        }),
        Err(other) => Err(other),
    }
}
