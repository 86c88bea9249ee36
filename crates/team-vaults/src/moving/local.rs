//! A team vault moved back to this computer (docs/architecture.md, "Team
//! vaults"), the reverse of the parent module, losing nothing whatever
//! fails:
//!
//! 1. [`plan`]: the vault is a team vault and its server signed in; whether
//!    the sign-in may delete there (`delete` on the folder's data path)
//!    decides whether the team copy is removed at the end or kept (and the
//!    user told so before anything happens).
//! 2. [`copy`]: every credential read from the server; then in one
//!    transaction a vault of this computer takes the team vault's name,
//!    environment and app connections with those values sealed with the
//!    master key (`Catalog::replace_with_local_vault`); each read back
//!    through the tokens part (what sessions and bridges read) and compared
//!    with what the server gave. Only then is the team copy marked for
//!    removal (`Catalog::set_team_copy_left`).
//! 3. [`remove_team_copy`]: the folder's credentials deleted on the server
//!    (`TeamServer::remove_vault`; KV v2 keeps their history), then the mark.
//!
//! A failure in 1 or 2 (the server stopping while it is read) changes
//! nothing here; running the move again starts over. A failure in 3 leaves
//! the vault here with every value, and the mark: running the move again
//! finds the vault already here and only finishes the removal.

use keybearer_base::error::{Error, Result};
use keybearer_team::{TeamServer, TeamVault};
use keybearer_vault::{
    CredentialSecret, Engine, NewCredential, TeamCopyLeft, TeamServerRecord, Vault,
};
use zeroize::Zeroizing;

use super::{sent, team_copy};
use crate::credentials::local_secret;
use crate::servers::settings_of;

/// The headers a secret sends (`super::sent`).
type Sent = Vec<(String, Zeroizing<String>)>;

/// A move back to this computer, checked.
pub struct LocalPlan {
    /// The team vault (or, when only the removal is left, the vault here).
    pub vault: Vault,
    pub server: TeamServerRecord,
    /// The folder's path as `bao kv` shows it.
    pub path: String,
    /// The sign-in may delete there: the team copy is removed at the end;
    /// otherwise it stays on the server for the team.
    pub remove_team_copy: bool,
    /// An earlier move already brought the vault here; only removing the
    /// team copy is left.
    pub only_removal_left: bool,
    signed_in: TeamServer,
    team: TeamVault,
}

/// Checks a move of `vault` to this computer, sending nothing but
/// questions.
pub fn plan(engine: &mut Engine, vault: &str) -> Result<LocalPlan> {
    let vault = engine.catalog().vault(vault)?;
    let (server_id, folder, only_removal_left) = match &vault.team {
        Some(team) => (team.server_id.clone(), team.folder.clone(), false),
        None => match engine.catalog().team_copy_left(&vault.id)? {
            Some(left) => (left.server_id, left.folder, true),
            None => {
                return Err(Error::invalid(
                    "vault",
                    format!(
                        "\"{}\" is already a vault of this computer; nothing to move.",
                        vault.display_name
                    ),
                ))
            }
        },
    };
    let server = engine.team_catalog().server(&server_id)?;
    let id = if only_removal_left {
        "tvl_move"
    } else {
        &vault.id
    };
    let team = TeamVault::new(id, &vault.environment, &folder)?;
    let signed_in = TeamServer::resume(settings_of(&server)?)?;
    let remove_team_copy = only_removal_left || signed_in.may_delete(&team)?;
    let path = format!(
        "{}/{}/",
        signed_in.settings().mount(),
        signed_in.settings().vault_path(&team)
    );
    Ok(LocalPlan {
        vault,
        server,
        path,
        remove_team_copy,
        only_removal_left,
        signed_in,
        team,
    })
}

/// Reads every credential from the server and makes the vault this
/// computer's (see the module's header). Returns the vault here and how
/// many credentials it holds.
pub fn copy(engine: &mut Engine, plan: &LocalPlan) -> Result<(Vault, usize)> {
    if plan.only_removal_left {
        let count = engine.catalog().credentials(&plan.vault.id)?.len();
        return Ok((plan.vault.clone(), count));
    }
    let found = plan.signed_in.credentials(&plan.team)?;
    let mut expected: Vec<(String, Sent)> = Vec::new();
    let mut news = Vec::with_capacity(found.len());
    for credential in found {
        expected.push((credential.url.clone(), sent(&credential.secret)));
        news.push(NewCredential {
            mcp_server_url: credential.url,
            protocol: Some(credential.protocol),
            secret: local_secret(credential.secret)?,
        });
    }
    let moved = engine
        .catalog()
        .replace_with_local_vault(&plan.vault.id, news)?;
    // Read back through what sessions and bridges read.
    let tokens = engine.tokens()?;
    let ids = [moved.id.clone()];
    for (url, values) in &expected {
        let back = tokens
            .lookup(&ids, url)?
            .and_then(|injection| {
                injection
                    .token
                    .downcast::<CredentialSecret>()
                    .and_then(|secret| team_copy(secret).ok())
            })
            .map(|secret| sent(&secret));
        if back.as_ref() != Some(values) {
            return Err(Error::invalid(
                "vault",
                format!(
                    "The credential for {url} could not be read back as the team server gave it, so the team copy was left on the server. Check the vault with `keybearer credential check --vault \"{}\"`.",
                    moved.display_name
                ),
            ));
        }
    }
    drop(tokens);
    if plan.remove_team_copy {
        engine.catalog().set_team_copy_left(
            &moved.id,
            &TeamCopyLeft {
                server_id: plan.server.id.clone(),
                folder: plan.team.name.clone(),
            },
        )?;
    }
    Ok((moved, expected.len()))
}

/// Removes the team copy from the server (when the plan says so) and the
/// mark; `None` when the copy stays (the sign-in may not delete there).
pub fn remove_team_copy(
    engine: &mut Engine,
    plan: &LocalPlan,
    local: &Vault,
) -> Result<Option<usize>> {
    if !plan.remove_team_copy {
        return Ok(None);
    }
    let removed = plan.signed_in.remove_vault(&plan.team)?;
    engine.catalog().team_copy_removed(&local.id)?;
    Ok(Some(removed))
}
