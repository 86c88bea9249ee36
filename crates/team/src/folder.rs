//! A team vault's folder on the server (docs/architecture.md, "Team
//! vaults"): made once, with a marker secret (`_keybearer`, no value in
//! it), so that an empty team vault is told apart from one that is not
//! there (removed, or the server reset); and every credential in it.
//!
//! A member attaches to a team vault by naming its folder: it is found
//! (shared), or, if missing, made by a member allowed to write. A
//! read-only member is told before anything is written.

use keybearer_base::error::{Error, Result};
use keybearer_base::team_error::TeamError;
use zeroize::Zeroizing;

use crate::server::TeamServer;
use crate::settings::TeamVault;
use crate::vaults::TeamCredential;

/// The marker's name in a vault's folder (credential names never start
/// with `_`: `settings::credential_key`).
pub(crate) const MARKER: &str = "_keybearer";

/// What attaching to a team vault found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The folder was there: shared with whoever else uses it.
    Existing,
    /// The folder was made now.
    Created,
}

impl TeamServer {
    /// Whether `vault`'s folder is on the server.
    pub fn vault_exists(&self, vault: &TeamVault) -> Result<bool> {
        Ok(self.kv_list(&self.settings().vault_path(vault))?.is_some())
    }

    /// Finds `vault`'s folder, or makes it (the marker, check-and-set: two
    /// members making it at once both end up sharing it).
    pub fn attach_vault(&self, vault: &TeamVault) -> Result<Attached> {
        if self.vault_exists(vault)? {
            return Ok(Attached::Existing);
        }
        let folder = self.settings().vault_path(vault);
        let marker = format!("{folder}/{MARKER}");
        if !self.access(vault)?.write {
            return Err(Error::Team(TeamError::VaultNotFound {
                server: self.address().to_string(),
                path: format!("{}/ (you may not create it: ask a member who may change this environment's vaults to add it first)", self.shown_path(&folder)),
            }));
        }
        let body = serde_json::to_vec(&serde_json::json!({
            "type": "keybearer_vault",
            "note": "Made by Keybearer: this folder is a team vault, one secret per MCP server.",
        }))
        .unwrap_or_default();
        match self.kv_write(&marker, Zeroizing::new(body), 0) {
            Ok(_) => {
                tracing::info!(server = %self.address(), path = %self.shown_path(&folder), "team vault made");
                Ok(Attached::Created)
            }
            // Someone made it meanwhile.
            Err(Error::Team(TeamError::Conflict { .. })) => Ok(Attached::Existing),
            Err(other) => Err(other),
        }
    }

    /// Every credential in `vault` (its marker and sub-folders left out),
    /// read in order of their names; a secret Keybearer cannot use (another
    /// address than its name says, an unknown kind) is an error naming it.
    /// A vault with nothing on the server is [`TeamError::VaultNotFound`].
    pub fn credentials(&self, vault: &TeamVault) -> Result<Vec<TeamCredential>> {
        let folder = self.settings().vault_path(vault);
        let Some(mut keys) = self.kv_list(&folder)? else {
            return Err(Error::Team(TeamError::VaultNotFound {
                server: self.address().to_string(),
                path: format!("{}/", self.shown_path(&folder)),
            }));
        };
        keys.sort();
        let mut found = Vec::new();
        for key in keys {
            if key.ends_with('/') || key.starts_with('_') {
                continue;
            }
            if let Some(credential) = self.credential_at(vault, &key)? {
                found.push(credential);
            }
        }
        Ok(found)
    }
}
