//! Team servers and team vaults in this computer's catalog
//! (docs/architecture.md, "Team vaults"): the rows only. The store knows no
//! team server's protocol: the wiring (`keybearer-team-vaults`) talks to
//! the server and keeps here what this computer needs to find it again — a
//! team server's address, mount, paths, CA certificate and intervals; a
//! team vault's server and folder (a `vaults` row with a `tvl_…` id, so
//! names, environments, sessions and app connections treat it like any
//! vault). No sign-in and no credential value is ever stored here, except
//! the last good values sealed with the master key ([`TeamLastGood`]).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use keybearer_base::team_model::{NewTeamServer, TeamServerRecord, VaultTeam};
use zeroize::Zeroizing;

use crate::audit::EventKind;
use crate::error::{Error, Result};
use crate::model::{new_id, validate_environment_name, validate_name, Timestamp, Vault};
use crate::secret::MasterKey;
use crate::store::events::{self, NewEvent};
use crate::store::{environments, team_servers, vaults, Store};

/// Team vault ids start with this (`keybearer_team::VAULT_ID_PREFIX`).
pub const TEAM_VAULT_PREFIX: &str = "tvl";

/// Team servers and team vaults, borrowed from the [`Engine`](crate::Engine).
pub struct TeamCatalog<'e> {
    pub(crate) store: &'e mut Store,
}

impl TeamCatalog<'_> {
    pub fn servers(&self) -> Result<Vec<TeamServerRecord>> {
        team_servers::list(self.store.conn())
    }

    /// A team server by id (`tsv_…`) or name.
    pub fn server(&self, id_or_name: &str) -> Result<TeamServerRecord> {
        team_servers::find(self.store.conn(), id_or_name)
    }

    /// Stores a team server the wiring checked (address, paths, CA).
    pub fn add_server(&mut self, new: &NewTeamServer) -> Result<TeamServerRecord> {
        let name = validate_name("name", &new.name)?;
        let id = new_id("tsv");
        let tx = self.store.write()?;
        if team_servers::name_taken(&tx, &name)? {
            return Err(Error::invalid(
                "name",
                format!("A team server named \"{name}\" is already set up. Pick another name with --name, or use that one (`keybearer team list`)."),
            ));
        }
        let new = NewTeamServer {
            name,
            ..new.clone()
        };
        team_servers::insert(&tx, &id, &new, Timestamp::now())?;
        let detail = format!("{} ({})", new.name, new.address);
        events::insert(
            &tx,
            &NewEvent {
                detail: Some(&detail),
                ..NewEvent::new(EventKind::TeamServerAdded)
            },
        )?;
        let added = team_servers::get(&tx, &id)?;
        tx.commit()?;
        tracing::info!(server = %added.address, "team server added");
        Ok(added)
    }

    /// Removes a team server and this computer's entries of its vaults (the
    /// vaults stay on the server), with their last good values. Returns the
    /// vaults removed from this computer.
    pub fn remove_server(&mut self, id: &str) -> Result<(TeamServerRecord, Vec<Vault>)> {
        let tx = self.store.write()?;
        let server = team_servers::get(&tx, id)?;
        let mut removed = Vec::new();
        for vault_id in team_servers::vault_ids(&tx, id)? {
            let vault = vaults::get(&tx, &vault_id)?;
            vaults::delete(&tx, &vault_id)?;
            events::insert(
                &tx,
                &NewEvent {
                    environment: Some(&vault.environment),
                    vault_id: Some(&vault.id),
                    detail: Some(
                        "removed from this computer with its team server (it stays on the server)",
                    ),
                    ..NewEvent::new(EventKind::VaultDeleted)
                },
            )?;
            removed.push(vault);
        }
        team_servers::delete(&tx, id)?;
        let detail = format!("{} ({})", server.name, server.address);
        events::insert(
            &tx,
            &NewEvent {
                detail: Some(&detail),
                ..NewEvent::new(EventKind::TeamServerRemoved)
            },
        )?;
        tx.commit()?;
        self.store.checkpoint();
        Ok((server, removed))
    }

    /// Adds a vault of this computer that lives on `server_id` in `folder`.
    pub fn create_vault(
        &mut self,
        display_name: &str,
        environment: &str,
        server_id: &str,
        folder: &str,
    ) -> Result<Vault> {
        let display_name = validate_name("display_name", display_name)?;
        let environment = validate_environment_name(environment)?;
        let now = Timestamp::now();
        let tx = self.store.write()?;
        if environments::get(&tx, &environment)?.is_none() {
            return Err(Error::not_found("environment", environment));
        }
        let server = team_servers::get(&tx, server_id)?;
        if vaults::name_taken(&tx, &environment, &display_name, None)? {
            return Err(Error::DuplicateVault {
                name: display_name,
                environment,
            });
        }
        let vault = Vault {
            id: new_id(TEAM_VAULT_PREFIX),
            display_name,
            environment,
            created_at: now,
            updated_at: now,
            credential_count: 0,
            last_used_at: None,
            team: Some(VaultTeam {
                server_id: server.id.clone(),
                server_name: server.name.clone(),
                server_address: server.address.clone(),
                folder: folder.to_string(),
            }),
        };
        vaults::insert(&tx, &vault)?;
        let detail = format!("on the team server {} ({folder})", server.name);
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::VaultCreated)
            },
        )?;
        let created = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        tracing::info!(vault_id = %created.id, "team vault added");
        Ok(created)
    }

    /// Finishes moving a local vault to a team server, in one transaction:
    /// a team vault takes its name, environment and app connections, then
    /// the local vault and its credentials are deleted (the WAL checkpointed,
    /// so their ciphertexts do not linger there). The wiring has copied and
    /// read back every credential on the server before this.
    pub fn replace_with_team_vault(
        &mut self,
        local_id: &str,
        server_id: &str,
        folder: &str,
    ) -> Result<Vault> {
        let now = Timestamp::now();
        let tx = self.store.write()?;
        let local = vaults::get(&tx, local_id)?;
        if local.team.is_some() {
            return Err(Error::invalid(
                "vault",
                format!("\"{}\" is already a team vault.", local.display_name),
            ));
        }
        let server = team_servers::get(&tx, server_id)?;
        if vaults::name_taken(
            &tx,
            &local.environment,
            &local.display_name,
            Some(&local.id),
        )? {
            return Err(Error::DuplicateVault {
                name: local.display_name,
                environment: local.environment,
            });
        }
        let vault = Vault {
            id: new_id(TEAM_VAULT_PREFIX),
            display_name: local.display_name.clone(),
            environment: local.environment.clone(),
            created_at: now,
            updated_at: now,
            credential_count: 0,
            last_used_at: local.last_used_at,
            team: Some(VaultTeam {
                server_id: server.id.clone(),
                server_name: server.name.clone(),
                server_address: server.address.clone(),
                folder: folder.to_string(),
            }),
        };
        vaults::insert(&tx, &vault)?;
        tx.execute(
            "UPDATE connection_vaults SET vault_id = ?2 WHERE vault_id = ?1",
            [&local.id, &vault.id],
        )?;
        vaults::delete(&tx, &local.id)?;
        let detail = format!(
            "{} credential(s) moved to the team server {} ({folder}); now {}",
            local.credential_count, server.name, vault.id
        );
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&local.environment),
                vault_id: Some(&local.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::VaultMoved)
            },
        )?;
        let moved = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        self.store.checkpoint();
        tracing::info!(vault_id = %moved.id, "vault moved to a team server");
        Ok(moved)
    }

    /// The vaults of this computer that live on a team server.
    pub fn vaults_of(&self, server_id: &str) -> Result<Vec<Vault>> {
        team_servers::vault_ids(self.store.conn(), server_id)?
            .iter()
            .map(|id| vaults::get(self.store.conn(), id))
            .collect()
    }

    /// Records a change made to a team vault from here (a credential added,
    /// replaced or deleted; signed in or out; a vault moved) in the local
    /// audit trail. The server keeps its own record of who changed what.
    pub fn record(
        &mut self,
        kind: EventKind,
        vault: Option<&Vault>,
        credential_id: Option<&str>,
        url: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        events::insert(
            self.store.conn(),
            &NewEvent {
                environment: vault.map(|vault| vault.environment.as_str()),
                vault_id: vault.map(|vault| vault.id.as_str()),
                credential_id,
                upstream_url: url,
                detail,
                ..NewEvent::new(kind)
            },
        )
    }

    /// The server could not be reached now; returns since when it has not
    /// answered (an earlier failure, if one is recorded).
    pub fn server_unreachable(&mut self, server_id: &str) -> Result<Option<Timestamp>> {
        team_servers::mark_unreachable(self.store.conn(), server_id, Timestamp::now())
    }

    /// The server answered.
    pub fn server_reachable(&mut self, server_id: &str) -> Result<()> {
        team_servers::mark_reachable(self.store.conn(), server_id)
    }

    /// Removes the last good values of a server's vaults (sign-out), or
    /// those confirmed before `before`. Returns how many.
    pub fn forget_last_good(
        &mut self,
        server_id: &str,
        before: Option<Timestamp>,
    ) -> Result<usize> {
        let removed = team_servers::delete_server_last_good(self.store.conn(), server_id, before)?;
        if removed > 0 {
            self.store.checkpoint();
        }
        Ok(removed)
    }
}

/// The last good values of team credentials, sealed with the master key
/// (bound to their vault and URL): what a bridge or a session started while
/// its team server is out of reach may use, for the server's last-good
/// limit after the server last confirmed it. Owned, `Send + Sync`, on a
/// connection of its own: the team source calls it from request threads.
pub struct TeamLastGood {
    data_dir: PathBuf,
    master: MasterKey,
    store: Mutex<Option<Store>>,
}

impl std::fmt::Debug for TeamLastGood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamLastGood").finish_non_exhaustive()
    }
}

/// A last good value opened: its version, when the server confirmed it,
/// and the value (wiped when dropped).
pub struct OpenedLastGood {
    pub version: u64,
    pub confirmed_at: Timestamp,
    pub value: Zeroizing<Vec<u8>>,
}

impl TeamLastGood {
    pub(crate) fn new(data_dir: &Path, master: MasterKey) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            master,
            store: Mutex::new(None),
        }
    }

    fn with_store<T>(&self, work: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let mut guard = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            *guard = Some(Store::open(&self.data_dir)?);
        }
        match guard.as_ref() {
            Some(store) => work(store),
            None => Err(Error::Io(std::io::Error::other("no database connection"))),
        }
    }

    /// Keeps `value` (the credential's stored form) sealed, replacing what
    /// was kept for this vault and URL.
    pub fn keep(
        &self,
        vault_id: &str,
        url: &str,
        version: u64,
        confirmed_at: Timestamp,
        value: &[u8],
    ) -> Result<()> {
        let sealed = crate::tokens::seal_team_value(&self.master, vault_id, url, value)?;
        self.with_store(|store| {
            team_servers::put_last_good(store.conn(), vault_id, url, version, confirmed_at, &sealed)
        })
    }

    /// The server confirmed `version` again; false if another is kept.
    pub fn confirm(&self, vault_id: &str, url: &str, version: u64, at: Timestamp) -> Result<bool> {
        self.with_store(|store| {
            team_servers::confirm_last_good(store.conn(), vault_id, url, version, at)
        })
    }

    /// The value kept for this vault and URL, if any; one that no longer
    /// opens (another master key, altered bytes) is removed.
    pub fn recall(&self, vault_id: &str, url: &str) -> Result<Option<OpenedLastGood>> {
        let Some(row) =
            self.with_store(|store| team_servers::get_last_good(store.conn(), vault_id, url))?
        else {
            return Ok(None);
        };
        match crate::tokens::open_team_value(&self.master, vault_id, url, &row.sealed) {
            Ok(value) => Ok(Some(OpenedLastGood {
                version: row.version,
                confirmed_at: row.confirmed_at,
                value,
            })),
            Err(_) => {
                tracing::warn!(vault_id, "a kept team credential does not open: removed");
                self.forget(vault_id, url)?;
                Ok(None)
            }
        }
    }

    /// Removes what is kept for this vault and URL (the server said it is
    /// gone, or it is too old to use).
    pub fn forget(&self, vault_id: &str, url: &str) -> Result<()> {
        self.with_store(|store| team_servers::delete_last_good(store.conn(), vault_id, url))
            .map(|_| ())
    }

    /// A team source could not reach `server_id` `at` (see
    /// [`TeamCatalog::server_unreachable`]).
    pub fn server_unreachable(&self, server_id: &str, at: Timestamp) -> Result<()> {
        self.with_store(|store| team_servers::mark_unreachable(store.conn(), server_id, at))
            .map(|_| ())
    }

    /// A team source got an answer from `server_id`.
    pub fn server_reachable(&self, server_id: &str) -> Result<()> {
        self.with_store(|store| team_servers::mark_reachable(store.conn(), server_id))
    }

    /// The URLs kept for a vault and confirmed since `since`.
    pub fn urls(&self, vault_id: &str, since: Timestamp) -> Result<Vec<String>> {
        self.with_store(|store| team_servers::last_good_urls(store.conn(), vault_id, since))
    }
}
