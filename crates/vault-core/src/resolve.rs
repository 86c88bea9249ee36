//! Resolution: which credential a set of vaults, in order, uses for a server
//! (the first vault that has one wins), and the one-environment rule. Pure
//! reads over any connection, so the catalog, the session launcher and the
//! tokens part's readers all answer the same way (docs/architecture.md,
//! "Resolve").

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
        let mut first: Option<Vault> = None;
        for id in vault_ids {
            let vault = self.vault(id)?;
            match &first {
                None => first = Some(vault),
                Some(seen) if seen.environment != vault.environment => {
                    return Err(Error::MixedEnvironments {
                        first: seen.display_name.clone(),
                        first_env: seen.environment.clone(),
                        second: vault.display_name,
                        second_env: vault.environment,
                    })
                }
                Some(_) => {}
            }
        }
        first
            .map(|vault| vault.environment)
            .ok_or_else(|| Error::invalid("vault_ids", "Pick at least one vault."))
    }

    /// Which credential these vaults (in this order) use for `url`: the
    /// first vault that has one wins; the others are listed as shadowed.
    pub fn resolve(&self, vault_ids: &[String], url: &str) -> Result<Option<Resolution>> {
        self.environment_of(vault_ids)?;
        let url = normalize_server_url(url)?;
        let mut winner: Option<Resolution> = None;
        for (position, id) in vault_ids.iter().enumerate() {
            let vault = self.vault(id)?;
            if let Some(credential) = credentials::find_by_url(self.conn, &vault.id, &url)? {
                match &mut winner {
                    None => {
                        winner = Some(Resolution {
                            credential,
                            vault_position: position,
                            shadowed_credential_ids: Vec::new(),
                        })
                    }
                    Some(found) => found.shadowed_credential_ids.push(credential.id),
                }
            }
        }
        Ok(winner)
    }

    /// Every MCP server URL the vaults cover, in vault order, once each.
    /// Refuses vaults of different environments.
    pub fn server_urls(&self, vault_ids: &[String]) -> Result<Vec<String>> {
        self.environment_of(vault_ids)?;
        let mut urls: Vec<String> = Vec::new();
        for id in vault_ids {
            let vault = self.vault(id)?;
            for credential in credentials::list(self.conn, &vault.id)? {
                if !urls.contains(&credential.mcp_server_url) {
                    urls.push(credential.mcp_server_url);
                }
            }
        }
        Ok(urls)
    }

    /// What a session with these vaults (in this order) would reach: for
    /// each server, the credential that wins and the ones it shadows.
    pub fn coverage(&self, vault_ids: &[String]) -> Result<Vec<Resolution>> {
        let mut coverage = Vec::new();
        for url in self.server_urls(vault_ids)? {
            if let Some(resolution) = self.resolve(vault_ids, &url)? {
                coverage.push(resolution);
            }
        }
        Ok(coverage)
    }
}
