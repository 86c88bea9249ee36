//! Putting an opened backup into this computer's store, in the caller's
//! write transaction (docs/architecture.md, "Backups"): all of it or none.
//!
//! Every secret is sealed again by `tokens::seal` under this computer's
//! master key, bound to its row as any new credential is. Ids are kept
//! (an app's settings file copied from the old computer names its
//! connection by id, and keeps working); a credential whose id is taken
//! here gets a new one.
//!
//! Into a store with vaults only when merging: a backup vault whose name
//! (ignoring case) or id is taken in its environment is left out with its
//! credentials and listed, and so is an app connection to a vault left
//! out, of an app already connected here, or of an app this Keybearer does
//! not know. Nothing here is ever overwritten or changed: environments that
//! exist keep their colour, the active environment stays.
//!
//! App connections point at this computer's settings file of the app (the
//! old computer's path is kept only when no home folder is known); their
//! entries are not written here: `keybearer apps sync` (or the Apps screen)
//! writes them, as the report says.

use rusqlite::Connection;
use serde::Serialize;

use super::payload::Payload;
use crate::backup_error::BackupError;
use crate::error::Result;
use crate::model::{new_id, AppConnection, Timestamp, Vault};
use crate::secret::MasterKey;
use crate::store::{connections, credentials, environments, meta, vaults};
use crate::tokens;

/// How a restore treats what is already here.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Add the backup's vaults beside existing ones (never replacing any).
    pub merge: bool,
    /// This computer's apps' settings locations, for the connections.
    pub apps_here: Option<(app_configs::Os, app_configs::Locations)>,
}

/// What a restore did: counts and what it left out, with why; no secret.
#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RestoreReport {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vaults: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: usize,
    /// The app connections restored: `keybearer apps sync` writes their
    /// entries into this computer's settings files.
    pub connections: Vec<AppConnection>,
    pub skipped_vaults: Vec<SkippedVault>,
    pub skipped_connections: Vec<SkippedConnection>,
    /// This computer got a new master key (and recovery key) with the data.
    pub new_key: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SkippedVault {
    pub name: String,
    pub environment: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SkippedConnection {
    pub app: String,
    pub reason: String,
}

pub(crate) fn restore(
    tx: &Connection,
    master: &MasterKey,
    payload: &Payload,
    options: &RestoreOptions,
) -> Result<RestoreReport> {
    let existing = vaults::count(tx)?;
    if existing > 0 && !options.merge {
        return Err(BackupError::VaultsExist { vaults: existing }.into());
    }
    let mut report = RestoreReport::default();
    for environment in &payload.environments {
        if environments::get(tx, &environment.name)?.is_none() {
            environments::insert(
                tx,
                &environment.name,
                &environment.colour,
                Timestamp(environment.created_at),
            )?;
        }
    }
    if existing == 0 {
        meta::set(
            tx,
            meta::ACTIVE_ENVIRONMENT,
            payload.active_environment.as_bytes(),
        )?;
    }
    let mut restored_vaults = Vec::new();
    for vault in &payload.vaults {
        let taken = vaults::name_taken(tx, &vault.environment, &vault.name, None)?
            || vaults::get(tx, &vault.id).is_ok();
        if taken {
            report.skipped_vaults.push(SkippedVault {
                name: vault.name.clone(),
                environment: vault.environment.clone(),
                credentials: payload
                    .credentials
                    .iter()
                    .filter(|c| c.vault_id == vault.id)
                    .count(),
                reason: format!(
                    "a vault named \"{}\" already exists in {}",
                    vault.name, vault.environment
                ),
            });
            continue;
        }
        vaults::insert(
            tx,
            &Vault {
                id: vault.id.clone(),
                display_name: vault.name.clone(),
                environment: vault.environment.clone(),
                created_at: Timestamp(vault.created_at),
                updated_at: Timestamp(vault.updated_at),
                credential_count: 0,
                last_used_at: None,
                team: None,
            },
        )?;
        restored_vaults.push(vault.id.as_str());
        report.vaults += 1;
    }
    for record in &payload.credentials {
        if !restored_vaults.contains(&record.vault_id.as_str()) {
            continue;
        }
        let secret = record.secret()?;
        let id = if credentials::get(tx, &record.id).is_ok() {
            new_id("cred")
        } else {
            record.id.clone()
        };
        let credential = record.credential(id, &secret)?;
        let sealed = tokens::seal(master, &credential, &secret)?;
        credentials::insert(tx, &credential, &sealed)?;
        tx.execute(
            "UPDATE credentials SET needs_sign_in = ?2, wanted_scope = ?3, last_used_at = ?4
             WHERE id = ?1",
            rusqlite::params![
                credential.id,
                i64::from(credential.needs_sign_in),
                credential.wanted_scope,
                credential.last_used_at.map(|t| t.0)
            ],
        )?;
        report.credentials += 1;
    }
    for record in &payload.connections {
        let skip = |reason: String| SkippedConnection {
            app: record.app.clone(),
            reason,
        };
        let Ok(app) = record.app.parse::<app_configs::App>() else {
            report.skipped_connections.push(skip(
                "this version of Keybearer does not know the app".into(),
            ));
            continue;
        };
        if connections::find_by_app(tx, app.id())?.is_some() {
            report.skipped_connections.push(skip(format!(
                "{} is already connected here",
                app.display_name()
            )));
            continue;
        }
        if let Some(missing) = record
            .vault_ids
            .iter()
            .find(|id| !restored_vaults.contains(&id.as_str()))
        {
            let name = payload
                .vaults
                .iter()
                .find(|v| &v.id == missing)
                .map_or(missing.as_str(), |v| v.name.as_str());
            report
                .skipped_connections
                .push(skip(format!("its vault \"{name}\" was left out")));
            continue;
        }
        if connections::get(tx, &record.id).is_ok() {
            report
                .skipped_connections
                .push(skip("a connection with its id already exists".into()));
            continue;
        }
        let config_path = match &options.apps_here {
            Some((os, locations)) => app_configs::config_file(app, *os, locations)
                .path
                .to_string_lossy()
                .into_owned(),
            None => record.config_path.clone(),
        };
        let now = Timestamp::now();
        let connection = AppConnection {
            id: record.id.clone(),
            app: app.id().to_string(),
            environment: record.environment.clone(),
            vault_ids: record.vault_ids.clone(),
            config_path,
            created_at: Timestamp(record.created_at),
            updated_at: now,
            last_used_at: None,
        };
        connections::insert(tx, &connection)?;
        report.connections.push(connection);
    }
    Ok(report)
}

impl RestoreReport {
    /// The audit event's detail: counts only.
    pub(crate) fn detail(&self) -> String {
        let mut detail = format!(
            "{} vault(s), {} credential(s), {} app connection(s)",
            self.vaults,
            self.credentials,
            self.connections.len()
        );
        if !self.skipped_vaults.is_empty() || !self.skipped_connections.is_empty() {
            detail.push_str(&format!(
                "; left out: {} vault(s), {} app connection(s)",
                self.skipped_vaults.len(),
                self.skipped_connections.len()
            ));
        }
        detail
    }
}
