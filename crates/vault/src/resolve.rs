//! Resolution: which credential a set of vaults, in order, uses for a server
//! (the first vault that has one wins), and the one-environment rule. Pure
//! reads over any connection, so the catalog, the session launcher and the
//! tokens part's readers all answer the same way (docs/architecture.md,
//! "Resolve").

use std::collections::HashMap;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::{Resolution, Vault};
use crate::server_url::normalize_server_url;
use crate::store::{credentials, vaults};

/// Read-only answers about vault precedence, over one connection.
#[derive(Clone, Copy)]
pub struct Resolver<'c> {
    conn: &'c Connection,
}

impl<'c> Resolver<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self { conn }
    }

    /// Finds a vault by id (`vlt_…`) or by its exact display name.
    pub fn vault(&self, id_or_name: &str) -> Result<Vault> {
        vaults::find(self.conn, id_or_name)
    }

    /// The single environment shared by `vault_ids`, or a clear refusal.
    pub fn environment_of(&self, vault_ids: &[String]) -> Result<String> {
        let vaults = self.session_vaults(vault_ids)?;
        Ok(vaults[0].environment.clone())
    }

    /// The vaults, in the given order, once each check that they share one
    /// environment (and that there is at least one).
    fn session_vaults(&self, vault_ids: &[String]) -> Result<Vec<Vault>> {
        let vaults = vault_ids
            .iter()
            .map(|id| self.vault(id))
            .collect::<Result<Vec<_>>>()?;
        let first = vaults
            .first()
            .ok_or_else(|| Error::invalid("vault_ids", "Pick at least one vault."))?;
        if let Some(other) = vaults.iter().find(|v| v.environment != first.environment) {
            return Err(Error::MixedEnvironments {
                first: first.display_name.clone(),
                first_env: first.environment.clone(),
                second: other.display_name.clone(),
                second_env: other.environment.clone(),
            });
        }
        Ok(vaults)
    }

    /// Which credential these vaults (in this order) use for `url`: the
    /// first vault that has one wins; the others are listed as shadowed.
    pub fn resolve(&self, vault_ids: &[String], url: &str) -> Result<Option<Resolution>> {
        let vaults = self.session_vaults(vault_ids)?;
        let url = normalize_server_url(url)?;
        let mut winner: Option<Resolution> = None;
        for (position, vault) in vaults.iter().enumerate() {
            if let Some(credential) = credentials::find_by_url(self.conn, &vault.id, &url)? {
                win(&mut winner, credential, position);
            }
        }
        Ok(winner)
    }

    /// Every MCP server URL the vaults cover, in vault order, once each.
    /// Refuses vaults of different environments.
    pub fn server_urls(&self, vault_ids: &[String]) -> Result<Vec<String>> {
        Ok(self
            .coverage(vault_ids)?
            .into_iter()
            .map(|resolution| resolution.credential.mcp_server_url)
            .collect())
    }

    /// What a session with these vaults (in this order) would reach: for
    /// each server (in the order the vaults first name it), the credential
    /// that wins and the ones it shadows. One read of each vault's
    /// credentials, however many servers they cover.
    pub fn coverage(&self, vault_ids: &[String]) -> Result<Vec<Resolution>> {
        let vaults = self.session_vaults(vault_ids)?;
        let mut coverage: Vec<Option<Resolution>> = Vec::new();
        let mut by_url: HashMap<String, usize> = HashMap::new();
        for (position, vault) in vaults.iter().enumerate() {
            for credential in credentials::list(self.conn, &vault.id)? {
                let slot = *by_url
                    .entry(credential.mcp_server_url.clone())
                    .or_insert_with(|| {
                        coverage.push(None);
                        coverage.len() - 1
                    });
                win(&mut coverage[slot], credential, position);
            }
        }
        Ok(coverage.into_iter().flatten().collect())
    }
}

/// The first credential found for a URL wins; later ones are shadowed.
fn win(winner: &mut Option<Resolution>, credential: crate::model::Credential, position: usize) {
    match winner {
        None => {
            *winner = Some(Resolution {
                credential,
                vault_position: position,
                shadowed_credential_ids: Vec::new(),
            })
        }
        Some(found) => found.shadowed_credential_ids.push(credential.id),
    }
}
