//! Catalog: environments, vaults and credentials, with their validation
//! (docs/architecture.md, "Catalog"). Every change is one write transaction
//! that also records its audit event, so the trail never disagrees with the
//! data. Tokens go in here (sealed by the tokens part) and never come out:
//! a [`Credential`](crate::Credential) carries no token.
//!
//! Rules kept here: one name per environment for vaults (ignoring ASCII
//! case), one credential per normalised URL in a vault, rotation as one
//! transaction (delete + create). After anything that deletes a sealed
//! token, the WAL is checkpointed and truncated so its ciphertext does not
//! linger there.

mod credentials;
mod team_move;

use crate::audit::EventKind;
use crate::credential_secret::NewCredential;
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::model::{
    new_id, validate_colour, validate_environment_name, validate_name, Environment, Timestamp,
    Vault,
};
use crate::resolve::Resolver;
use crate::store::events::{self, NewEvent};
use crate::store::{environments, meta, vaults, Store};

/// Adds a credential inside the caller's transaction (an import stores all
/// its tokens in one).
pub use credentials::insert as insert_credential;
pub use credentials::{revoke_grant, CredentialCheck};
pub use team_move::TeamCopyLeft;

const DEFAULT_ENVIRONMENT: &str = "development";

/// Environments, vaults and credentials, borrowed from the [`Engine`](crate::Engine).
pub struct Catalog<'e> {
    pub(crate) store: &'e mut Store,
    pub(crate) ring: &'e mut KeyRing,
}

impl Catalog<'_> {
    // ----- environments -------------------------------------------------

    pub fn environments(&self) -> Result<Vec<Environment>> {
        environments::list(self.store.conn())
    }

    pub fn create_environment(&mut self, name: &str, colour: &str) -> Result<Environment> {
        let name = validate_environment_name(name)?;
        let colour = validate_colour(colour)?;
        let tx = self.store.write()?;
        if environments::get(&tx, &name)?.is_some() {
            return Err(Error::DuplicateEnvironment(name));
        }
        environments::insert(&tx, &name, &colour, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&name),
                ..NewEvent::new(EventKind::EnvironmentCreated)
            },
        )?;
        let created =
            environments::get(&tx, &name)?.ok_or_else(|| Error::not_found("environment", &name))?;
        tx.commit()?;
        Ok(created)
    }

    pub fn active_environment(&self) -> Result<String> {
        active_environment(self.store)
    }

    pub fn set_active_environment(&mut self, name: &str) -> Result<()> {
        let name = self.existing_environment(name)?;
        meta::set(self.store.conn(), meta::ACTIVE_ENVIRONMENT, name.as_bytes())
    }

    fn existing_environment(&self, name: &str) -> Result<String> {
        let wanted = name.trim().to_ascii_lowercase();
        environments::get(self.store.conn(), &wanted)?
            .map(|environment| environment.name)
            .ok_or_else(|| Error::not_found("environment", name.trim()))
    }

    // ----- vaults -------------------------------------------------------

    /// Creates a vault, optionally with its first credentials, in one transaction.
    pub fn create_vault(
        &mut self,
        display_name: &str,
        environment: &str,
        initial: Vec<NewCredential>,
    ) -> Result<Vault> {
        let display_name = validate_name("display_name", display_name)?;
        let environment = self.existing_environment(environment)?;
        let master = if initial.is_empty() {
            None
        } else {
            Some(self.ring.master(self.store)?)
        };
        let now = Timestamp::now();
        let vault = Vault {
            id: new_id("vlt"),
            display_name,
            environment,
            created_at: now,
            updated_at: now,
            credential_count: 0,
            last_used_at: None,
            team: None,
        };
        let tx = self.store.write()?;
        refuse_taken_name(&tx, &vault.environment, &vault.display_name, None)?;
        vaults::insert(&tx, &vault)?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                ..NewEvent::new(EventKind::VaultCreated)
            },
        )?;
        if let Some(master) = &master {
            for new in initial {
                credentials::insert(&tx, master, &vault, new)?;
            }
        }
        let created = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        tracing::info!(vault_id = %created.id, environment = %created.environment, "vault created");
        Ok(created)
    }

    pub fn vaults(&self, environment: Option<&str>) -> Result<Vec<Vault>> {
        let environment = environment
            .map(|name| self.existing_environment(name))
            .transpose()?;
        vaults::list(self.store.conn(), environment.as_deref())
    }

    /// Vaults whose name or a server URL of whose credentials contains
    /// `text` (letters in any case), in the order [`Self::vaults`] lists them.
    pub fn search_vaults(&self, text: &str) -> Result<Vec<Vault>> {
        vaults::search(self.store.conn(), text.trim())
    }

    /// Finds a vault by id (`vlt_…`) or by its exact display name.
    pub fn vault(&self, id_or_name: &str) -> Result<Vault> {
        Resolver::new(self.store.conn()).vault(id_or_name)
    }

    pub fn rename_vault(&mut self, id_or_name: &str, new_name: &str) -> Result<Vault> {
        let new_name = validate_name("display_name", new_name)?;
        let vault = self.vault(id_or_name)?;
        let tx = self.store.write()?;
        refuse_taken_name(&tx, &vault.environment, &new_name, Some(&vault.id))?;
        vaults::rename(&tx, &vault.id, &new_name, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                ..NewEvent::new(EventKind::VaultRenamed)
            },
        )?;
        let renamed = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        Ok(renamed)
    }

    /// Deletes a vault and all its credentials. Returns what was deleted.
    pub fn delete_vault(&mut self, id_or_name: &str) -> Result<Vault> {
        let vault = self.vault(id_or_name)?;
        let tx = self.store.write()?;
        vaults::delete(&tx, &vault.id)?;
        // A team copy still to remove (team_move.rs) is the team's now.
        meta::delete(&tx, &team_move::left_key(&vault.id))?;
        let detail = format!("{} credential(s) deleted with it", vault.credential_count);
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::VaultDeleted)
            },
        )?;
        tx.commit()?;
        self.store.checkpoint();
        tracing::info!(vault_id = %vault.id, "vault deleted");
        Ok(vault)
    }
}

pub(crate) fn active_environment(store: &Store) -> Result<String> {
    Ok(meta::get_text(store.conn(), meta::ACTIVE_ENVIRONMENT)?
        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()))
}

/// One name per environment: two vaults named alike would make every
/// by-name command ambiguous. Checked inside the write transaction, which
/// holds the database's write lock, so two processes cannot both pass.
fn refuse_taken_name(
    conn: &rusqlite::Connection,
    environment: &str,
    name: &str,
    except: Option<&str>,
) -> Result<()> {
    if vaults::name_taken(conn, environment, name, except)? {
        return Err(Error::DuplicateVault {
            name: name.to_string(),
            environment: environment.to_string(),
        });
    }
    Ok(())
}
