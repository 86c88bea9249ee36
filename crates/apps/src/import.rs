//! Import: moving tokens that were pasted into an app's settings file into a
//! vault (docs/architecture.md, "App connections").
//!
//! Flow: scan the file (`app_configs::scan`) → show what was found, never a
//! value ([`PastedSecret`]) → on the user's word: plan every entry's
//! credential and check it (`import_plan.rs`; a token the vault cannot take
//! stops the import here) → seal the file as it is (for undo) → in ONE
//! database transaction: add the credentials, connect the app to the vault
//! (or add the vault to its connection), keep the sealed copy in
//! `app_backups`, record the event → make the new text (each imported entry
//! replaced by a bridge entry of the same name, the connection's other
//! servers added) → write it beside the file and fsync it
//! (`app_configs::prepare_write`) → commit → rename it over the file. A
//! failure before the commit rolls the transaction back (SQLite's own
//! rollback) and removes the prepared text: nothing stored, file unchanged.
//! Killed at any moment, each token is in the file or in the vault (or
//! both, between the commit and the rename: importing again finishes it,
//! keeping the stored credential) — `cli/tests/apps_crash.rs` kills the
//! import at every step to check it.
//! Afterwards, copies of the tokens the rewrite could not reach are
//! reported (`copies.rs`) and, when asked, the backups among them deleted.
//! Undo writes the sealed original back.
//!
//! Limits: bearer tokens and other secret headers are importable (an entry
//! with more than a bearer token becomes a header credential carrying all
//! its literal headers); URL query tokens and token variables are reported
//! as "not yet importable" and left where they are. A server the vault
//! already holds a credential for keeps that credential. A file Keybearer
//! may not edit (a name written twice, see `app_configs::json_names`) stops
//! the import with nothing stored.

use serde::Serialize;

use super::copies::{self, TokenCopy};
use super::import_plan::{self, describe, PastedSecret, Source};
use super::{parse_app, read, AppChange, Apps};
use crate::backups_table::{self, Backup};
use keybearer_base::error::{Error, Result};
use keybearer_base::model::{new_id, Timestamp};
use keybearer_vault::beside::events::{self, NewEvent};
use keybearer_vault::EventKind;
use keybearer_vault::NewCredential;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportOutcome {
    /// Entries now served by the bridge, with the credential that holds the token.
    pub imported: Vec<ImportedEntry>,
    /// Found but left in place (not importable yet, or already in the vault).
    pub left: Vec<PastedSecret>,
    /// Copies of imported tokens still on disk (hard links, backups beside
    /// the file, the file itself): the tokens are stored, not moved, while
    /// any remains.
    pub copies: Vec<TokenCopy>,
    /// Backups deleted because the import was asked to (home shown as `~`).
    pub deleted_copies: Vec<String>,
    pub change: AppChange,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportedEntry {
    pub server: String,
    pub url: String,
    pub credential_id: String,
}

impl Apps<'_> {
    /// The secrets pasted into the app's settings file, by where they are.
    pub fn pasted_secrets(&mut self, app_id: &str) -> Result<Vec<PastedSecret>> {
        let app = parse_app(app_id)?;
        let connection = self.engine.connections().for_app(app.id())?;
        let file = self.file_for(app, connection.as_ref());
        let text = read(&file)?;
        Ok(app_configs::scan(&file, &text)?
            .iter()
            .map(describe)
            .collect())
    }

    /// Moves the app's pasted bearer tokens into `vault` and points the
    /// entries at the bridge, all or nothing; with `delete_copies`, then
    /// deletes the backups beside the file that hold one of them. Needs the
    /// vault unlocked.
    pub fn import(
        &mut self,
        app_id: &str,
        vault: &str,
        delete_copies: bool,
    ) -> Result<ImportOutcome> {
        let app = parse_app(app_id)?;
        let vault = self.engine.catalog().vault(vault)?;
        let connection = self.engine.connections().for_app(app.id())?;
        if let Some(connection) = &connection {
            if connection.environment != vault.environment {
                return Err(Error::invalid(
                    "vault",
                    format!(
                        "{} is connected to {} vaults; choose a vault of {} for its tokens, or change its connection first.",
                        app.display_name(),
                        connection.environment,
                        connection.environment
                    ),
                ));
            }
        }
        let file = self.file_for(app, connection.as_ref());
        let shown = self.env.locations.display_path(&file.path);
        let original = read(&file)?;
        let findings = app_configs::scan(&file, &original)?;
        let servers = app_configs::list_servers(&file, &original)?;
        let mut left = Vec::new();
        let mut wanted = Vec::new();
        for finding in &findings {
            let described = describe(finding);
            if described.importable {
                wanted.push(finding);
            } else {
                left.push(described);
            }
        }
        if wanted.is_empty() {
            return Err(Error::invalid(
                "app",
                format!(
                    "{}'s settings hold no token Keybearer can import yet. Nothing was changed.",
                    app.display_name()
                ),
            ));
        }

        // Everything that can be checked, checked before anything changes.
        let existing = self.engine.catalog().credentials(&vault.id)?;
        let plan = import_plan::plan(&wanted, &servers, &existing, &shown)?;
        let backup_id = new_id("bkp");
        let sealed = self
            .engine
            .seal_app_backup(&backup_id, app.id(), &original)?;
        // The new credentials are sealed inside the import's transaction.
        let master = keybearer_vault::beside::master_key(self.engine)?;
        let maker = self.entry_maker();
        let before = app_configs::identity(&file.path);
        let config_path = file.path.to_string_lossy().into_owned();

        let store = self.engine.store_mut();
        let tx = store.write()?;
        let mut imported: Vec<ImportedEntry> = Vec::new();
        let mut added = false;
        for planned in plan {
            let credential_id = match planned.source {
                Source::Existing(id) => id,
                Source::SameAs(at) => imported[at].credential_id.clone(),
                Source::New { secret, protocol } => {
                    added = true;
                    let new = NewCredential {
                        mcp_server_url: planned.url.clone(),
                        protocol,
                        secret,
                    };
                    keybearer_vault::beside::insert_credential(&tx, &master, &vault, new)?.id
                }
            };
            imported.push(ImportedEntry {
                server: planned.server,
                url: planned.url,
                credential_id,
            });
        }
        drop(master);
        if added {
            keybearer_vault::beside::touch_vault(&tx, &vault.id, Timestamp::now())?;
        }
        // The connection: made, or the vault added to it (last, so the
        // vaults already there keep winning the servers they hold).
        let created_connection = connection.is_none();
        let connection = match connection {
            None => keybearer_vault::beside::create_connection_in(
                &tx,
                app.id(),
                std::slice::from_ref(&vault.id),
                &config_path,
            )?,
            Some(connection) if connection.vault_ids.contains(&vault.id) => connection,
            Some(connection) => {
                let mut vaults = connection.vault_ids.clone();
                vaults.push(vault.id.clone());
                keybearer_vault::beside::change_connection_in(&tx, &connection.id, &vaults)?
            }
        };
        backups_table::replace(
            &tx,
            &Backup {
                id: backup_id,
                app: app.id().to_string(),
                config_path,
                sealed_text: sealed,
                created_connection,
                created_at: Timestamp::now(),
            },
        )?;
        let detail = format!("{} tokens from {}", imported.len(), app.id());
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&connection.environment),
                vault_id: Some(&vault.id),
                connection_id: Some(&connection.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::AppTokensImported)
            },
        )?;

        // Each imported entry becomes a bridge entry under its own name.
        let mut text = zeroize::Zeroizing::new(original.to_string());
        for entry in &imported {
            let bridge = maker.entry(&entry.server, &connection.id, &entry.url);
            text =
                zeroize::Zeroizing::new(app_configs::replace_with_bridge(&file, &text, &bridge)?);
        }
        // The new text is written and made durable beside the file first
        // (a failure drops the transaction: nothing stored), then the
        // tokens are committed to the vault, then the file is switched. So
        // at any moment — even killed — each token is in the file or in the
        // vault: killed before the switch, the file still holds them (run
        // the import again to finish it).
        let prepared = app_configs::prepare_write(&file.path, &text)?;
        tx.commit()?; // refused: the prepared text is removed, nothing changed
        prepared.commit().map_err(|error| {
            Error::invalid(
                "app",
                format!(
                    "The tokens are now in the vault, but {shown} could not be rewritten ({error}); it still holds them. Import again to finish."
                ),
            )
        })?;
        // Then the connection's other servers get their entries, as a sync
        // does (and the names written are recorded). The tokens are already
        // in the vault and out of the file: a failure here leaves entries
        // to add, which the next sync adds.
        let mut change = self.write_entries(app, &file, &text, &connection)?;
        let text = read(&file)?;

        // Replaced entries are new servers to the app as much as added ones.
        change.restart_needed |= !imported.is_empty() && !super::reloads_by_itself(app);
        let secrets: Vec<(&str, &str)> = findings
            .iter()
            .filter(|f| imported.iter().any(|e| e.server == f.server))
            .map(|f| (f.server.as_str(), f.secret.expose_secret()))
            .collect();
        let (mut copies, found) =
            copies::left_behind(&self.env.locations, &file, before, &text, &secrets);
        let mut deleted_copies = Vec::new();
        if delete_copies {
            let cleanup = copies::delete(&self.env.locations, &found, &secrets);
            copies.retain(|copy| copy.kind != copies::CopyKind::Backup);
            copies.extend(cleanup.copies);
            deleted_copies = cleanup.deleted;
        }
        Ok(ImportOutcome {
            imported,
            left,
            copies,
            deleted_copies,
            change,
        })
    }

    /// Puts the app's settings file back as it was before the last import.
    /// The imported credentials stay in the vault.
    pub fn undo_import(&mut self, app_id: &str) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let backup = backups_table::latest(self.engine.store_mut().conn(), app.id())?
            .ok_or_else(|| Error::not_found("import to undo for", app.display_name()))?;
        let text = self
            .engine
            .open_app_backup(&backup.id, &backup.app, &backup.sealed_text)?;
        let path = std::path::PathBuf::from(&backup.config_path);
        app_configs::write_atomic(&path, &text)?;
        let connection = self.engine.connections().for_app(app.id())?;
        if backup.created_connection {
            if let Some(connection) = &connection {
                self.engine.connections().remove(&connection.id)?;
            }
        }
        // The names Keybearer's entries have in the file as it was.
        let kept = match &connection {
            Some(connection) if !backup.created_connection => {
                let file = app_configs::ConfigFile::new(app, &path);
                let servers = app_configs::list_servers(&file, &text).unwrap_or_default();
                Some((
                    connection.id.clone(),
                    super::managed::marked_entries(&servers, &connection.id),
                ))
            }
            _ => None,
        };
        let store = self.engine.store_mut();
        let tx = store.write()?;
        if let Some((connection_id, entries)) = &kept {
            crate::entries_table::set(&tx, connection_id, entries)?;
        }
        backups_table::delete(&tx, &backup.id)?;
        let detail = app.id().to_string();
        events::insert(
            &tx,
            &NewEvent {
                connection_id: connection.as_ref().map(|c| c.id.as_str()),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::AppImportUndone)
            },
        )?;
        tx.commit()?;
        // The sealed copy held tokens: leave no frame of it in the WAL.
        self.engine.store_mut().checkpoint();
        Ok(AppChange {
            connection: if backup.created_connection {
                None
            } else {
                connection
            },
            name: app.display_name().to_string(),
            config_path: self.env.locations.display_path(&path),
            entries: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            restored: Vec::new(),
            restart_needed: !super::reloads_by_itself(app),
        })
    }
}
