//! A team vault moved back to this computer, the catalog's part
//! (docs/architecture.md, "Team vaults"; the steps are
//! `keybearer-team-vaults`' `moving::local`): in one transaction a vault of
//! this computer takes the team vault's name, environment and app
//! connections, with every credential the server gave, sealed with the
//! master key; the team vault's row (and its sealed last good values) goes.
//!
//! The team copy left on the server to remove is recorded in `meta`
//! (`team_copy_left:<vault id>`: the server's id and the folder) until it
//! is removed, so a move whose removal failed midway (the server stopped)
//! is finished by running it again; deleting the vault drops it. No value
//! is in that record.

use crate::audit::EventKind;
use crate::credential_secret::NewCredential;
use crate::error::{Error, Result};
use crate::model::{new_id, Timestamp, Vault};
use crate::store::events::{self, NewEvent};
use crate::store::{meta, team_servers, vaults};

use super::{credentials, Catalog};

/// A team vault's folder still on its server after the vault moved here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamCopyLeft {
    pub server_id: String,
    pub folder: String,
}

pub(super) fn left_key(vault_id: &str) -> String {
    format!("team_copy_left:{vault_id}")
}

impl Catalog<'_> {
    /// Replaces the team vault `team_id` by a vault of this computer holding
    /// `credentials` (read from the server), in one transaction (see the
    /// module's header). The WAL is checkpointed (the team vault's sealed
    /// last good values are deleted with it).
    pub fn replace_with_local_vault(
        &mut self,
        team_id: &str,
        credentials: Vec<NewCredential>,
    ) -> Result<Vault> {
        let master = self.ring.master(self.store)?;
        let now = Timestamp::now();
        let tx = self.store.write()?;
        let team = vaults::get(&tx, team_id)?;
        let Some(on) = team.team.clone() else {
            return Err(Error::invalid(
                "vault",
                format!(
                    "\"{}\" is already a vault of this computer.",
                    team.display_name
                ),
            ));
        };
        let server = team_servers::get(&tx, &on.server_id)?;
        let vault = Vault {
            id: new_id("vlt"),
            display_name: team.display_name.clone(),
            environment: team.environment.clone(),
            created_at: now,
            updated_at: now,
            credential_count: 0,
            last_used_at: team.last_used_at,
            team: None,
        };
        // Same name while both rows exist, for a moment inside this
        // transaction (names are unique by rule, not by index).
        vaults::insert(&tx, &vault)?;
        tx.execute(
            "UPDATE connection_vaults SET vault_id = ?2 WHERE vault_id = ?1",
            [&team.id, &vault.id],
        )?;
        vaults::delete(&tx, &team.id)?;
        let count = credentials.len();
        for new in credentials {
            credentials::insert(&tx, &master, &vault, new)?;
        }
        let detail = format!(
            "{count} credential(s) moved from the team server {} ({}) to this computer; was {}",
            server.name, on.folder, team.id
        );
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::VaultMoved)
            },
        )?;
        let moved = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        self.store.checkpoint();
        tracing::info!(vault_id = %moved.id, "team vault moved to this computer");
        Ok(moved)
    }

    /// The team copy of `vault_id` still to remove from its server, if any.
    pub fn team_copy_left(&self, vault_id: &str) -> Result<Option<TeamCopyLeft>> {
        Ok(
            meta::get_text(self.store.conn(), &left_key(vault_id))?.and_then(|text| {
                let (server_id, folder) = text.split_once('\n')?;
                Some(TeamCopyLeft {
                    server_id: server_id.to_string(),
                    folder: folder.to_string(),
                })
            }),
        )
    }

    /// Records that `vault_id`'s team copy is to be removed from its server.
    pub fn set_team_copy_left(&mut self, vault_id: &str, left: &TeamCopyLeft) -> Result<()> {
        meta::set(
            self.store.conn(),
            &left_key(vault_id),
            format!("{}\n{}", left.server_id, left.folder).as_bytes(),
        )
    }

    /// `vault_id`'s team copy is gone from its server (or is to stay).
    pub fn team_copy_removed(&mut self, vault_id: &str) -> Result<()> {
        meta::delete(self.store.conn(), &left_key(vault_id))
    }
}
