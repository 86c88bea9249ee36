//! Apps: connecting the AI apps Keybearer does not launch (docs/architecture.md,
//! "App connections").
//!
//! Flow of a connect: read the app's settings file and make sure it parses
//! (else refuse, having changed nothing) → record the connection (the
//! `Connections` part) → one bridge entry per server the vaults cover, named
//! after the server, written with `app_configs` (everything else in the file
//! kept as it was) by an atomic rename. If the file cannot be written the
//! connection is removed again. Disconnect removes exactly the entries that
//! carry the connection's id, then the connection. [`Apps::sync`] brings every
//! connected app's entries in line with its vaults (a server added to a vault
//! gets an entry; one no vault covers any more loses it).
//!
//! Entries something else rewrote: the names Keybearer wrote are recorded
//! (`managed.rs`), so an entry under one of them that no longer holds what
//! Keybearer wrote — another program, other arguments, added variables such
//! as `LD_PRELOAD`, other settings — is listed in [`AppStatus::changed_entries`]
//! (`changed.rs` says it in words) and put back by sync exactly as Keybearer
//! writes it, in its place; the user's own entries are never touched.
//!
//! An entry holds the Keybearer program's absolute path, `bridge
//! --connection ID --server URL`, and (only when the data folder is not the
//! default one) `KEYBEARER_HOME`. No token, and nothing that works once the
//! connection is gone.
//!
//! Limits: user-level settings files only; an app that is running may need
//! a restart to see new entries (see [`AppStatus::reloads_by_itself`]).
//!
//! The crate `keybearer-apps` (docs/architecture.md, "Crates"): the apps'
//! settings files (through `app-configs`) and the two tables that are the
//! apps' own (`backups_table`: sealed copies of a file before an import;
//! `entries_table`: what Keybearer wrote under each name). It builds on the
//! engine through `keybearer_vault::beside` only (and team vaults' servers
//! through `keybearer-team-vaults`); it must never reach the proxy, the
//! bridge's internals or sessions.

mod backups_table;
mod changed;
mod copies;
mod entries_table;
mod import;
mod import_plan;
mod managed;
mod names;
mod status;

pub use changed::ChangedEntry;
pub use copies::{CopiesCleanup, CopyKind, TokenCopy};
pub use import::{ImportOutcome, ImportedEntry};
pub use import_plan::PastedSecret;
pub use status::{parse_app, AppChange, AppEnvironment, AppStatus};

use std::path::Path;

use app_configs::{App, BridgeEntry, ConfigFile};

use entries_table::WrittenEntry;
use keybearer_base::error::{Error, Result};
use keybearer_base::model::AppConnection;
use keybearer_vault::beside::events::{self, NewEvent};
use keybearer_vault::Engine;
use keybearer_vault::EventKind;
use managed::{managed, Managed};

/// The apps part, over the engine and this computer's app settings.
pub struct Apps<'e> {
    engine: &'e mut Engine,
    env: AppEnvironment,
}

/// `engine.apps(env)`: the apps part, borrowed from the engine like its
/// other parts (the engine's crate does not know this one).
pub trait EngineApps {
    /// App connections with their settings files.
    fn apps(&mut self, env: AppEnvironment) -> Apps<'_>;
}

impl EngineApps for Engine {
    fn apps(&mut self, env: AppEnvironment) -> Apps<'_> {
        Apps { engine: self, env }
    }
}

impl Apps<'_> {
    fn file_for(&self, app: App, connection: Option<&AppConnection>) -> ConfigFile {
        match connection {
            Some(connection) => ConfigFile::new(app, &connection.config_path),
            None => app_configs::config_file(app, self.env.os, &self.env.locations),
        }
    }

    /// Every known app: installed or not, connected or not.
    pub fn list(&mut self) -> Result<Vec<AppStatus>> {
        let connections = self.engine.connections().list()?;
        let mut statuses = Vec::new();
        for detection in app_configs::detect_all(self.env.os, &self.env.locations) {
            let app = detection.app;
            let connection = connections.iter().find(|c| c.app == app.id()).cloned();
            let file = self.file_for(app, connection.as_ref());
            let mut status = AppStatus {
                app: app.id().to_string(),
                name: app.display_name().to_string(),
                installed: detection.installed() || connection.is_some(),
                config_path: self.env.locations.display_path(&file.path),
                connection,
                entries: Vec::new(),
                changed_entries: Vec::new(),
                pasted_secrets: 0,
                problem: None,
                reloads_by_itself: reloads_by_itself(app),
                import_undoable: crate::backups_table::exists(
                    self.engine.store_mut().conn(),
                    app.id(),
                )?,
            };
            match read(&file) {
                Ok(text) => {
                    if let Some(connection) = &status.connection {
                        let (entries, changed) = self.inspect(app, &file, &text, connection)?;
                        status.entries = entries.into_iter().map(|m| m.name).collect();
                        status.changed_entries = changed;
                    }
                    status.pasted_secrets = app_configs::scan(&file, &text)?.len();
                }
                Err(problem) => status.problem = Some(problem.to_string()),
            }
            statuses.push(status);
        }
        Ok(statuses)
    }

    /// Connects `app` to `vaults` (first wins) and writes its entries.
    pub fn connect(&mut self, app_id: &str, vaults: &[String]) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let file = self.file_for(app, None);
        let text = read(&file)?; // refuses a file it cannot parse before anything changes
        let path = file.path.to_string_lossy().into_owned();
        let connection = self.engine.connections().create(app.id(), vaults, &path)?;
        match self.write_entries(app, &file, &text, &connection) {
            Ok(change) => Ok(change),
            Err(error) => {
                // Leave no connection whose entries were never written.
                let _ = self.engine.connections().remove(&connection.id);
                Err(error)
            }
        }
    }

    /// Points a connected app at other vaults; its entries follow.
    pub fn change(&mut self, app_id: &str, vaults: &[String]) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let connection = self.connection_of(app)?;
        let file = self.file_for(app, Some(&connection));
        let text = read(&file)?;
        let changed = self.engine.connections().change(&connection.id, vaults)?;
        self.write_entries(app, &file, &text, &changed)
    }

    /// Removes Keybearer's entries from the app's settings, then the connection.
    pub fn disconnect(&mut self, app_id: &str) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let connection = self.connection_of(app)?;
        let file = self.file_for(app, Some(&connection));
        let text = read(&file)?;
        // Keybearer's names too, whatever something else made of them.
        let (entries, _) = self.inspect(app, &file, &text, &connection)?;
        let removed: Vec<String> = entries.into_iter().map(|m| m.name).collect();
        let names: Vec<&str> = removed.iter().map(String::as_str).collect();
        let new_text = app_configs::remove_entries(&file, &text, &names)?;
        let new_text = app_configs::remove_connection_entries(&file, &new_text, &connection.id)?;
        if new_text != *text {
            app_configs::write_atomic(&file.path, &new_text)?;
        }
        self.engine.connections().remove(&connection.id)?;
        Ok(AppChange {
            connection: None,
            name: app.display_name().to_string(),
            config_path: self.env.locations.display_path(&file.path),
            entries: Vec::new(),
            restart_needed: !removed.is_empty() && !reloads_by_itself(app),
            added: Vec::new(),
            removed,
            restored: Vec::new(),
        })
    }

    /// Brings one connected app's entries in line with its vaults, putting
    /// back the ones something else changed.
    pub fn sync_app(&mut self, app_id: &str) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let connection = self.connection_of(app)?;
        let file = self.file_for(app, Some(&connection));
        let text = read(&file)?;
        self.write_entries(app, &file, &text, &connection)
    }

    /// Brings every connected app's entries in line with its vaults. A file
    /// that cannot be read is reported in its change's place, not fatal.
    pub fn sync(&mut self) -> Result<Vec<std::result::Result<AppChange, Error>>> {
        let connections = self.engine.connections().list()?;
        let mut changes = Vec::new();
        for connection in connections {
            let Ok(app) = parse_app(&connection.app) else {
                continue; // written by a newer Keybearer
            };
            let file = self.file_for(app, Some(&connection));
            let change =
                read(&file).and_then(|text| self.write_entries(app, &file, &text, &connection));
            changes.push(change);
        }
        Ok(changes)
    }

    fn connection_of(&mut self, app: App) -> Result<AppConnection> {
        self.engine
            .connections()
            .for_app(app.id())?
            .ok_or_else(|| Error::not_found("connection", app.display_name()))
    }

    /// Keybearer's entries in `text` for `connection`, and those of them
    /// something else changed, in words.
    fn inspect(
        &mut self,
        app: App,
        file: &ConfigFile,
        text: &str,
        connection: &AppConnection,
    ) -> Result<(Vec<Managed>, Vec<ChangedEntry>)> {
        let servers = app_configs::list_servers(file, text)?;
        let written = entries_table::list(self.engine.store_mut().conn(), &connection.id)?;
        let entries = managed(&servers, &written, &connection.id);
        let found = app_configs::changed_entries(file, text, &self.expected(&entries, connection))?;
        let changed = found.iter().map(|c| changed::describe(app, c)).collect();
        Ok((entries, changed))
    }

    /// What Keybearer wrote under each of its names (see `managed.rs`).
    fn expected(&self, entries: &[Managed], connection: &AppConnection) -> Vec<BridgeEntry> {
        entries
            .iter()
            .filter_map(|m| {
                let url = m.url.as_deref()?;
                let mut entry = self.bridge_entry(&m.name, &connection.id, url);
                if let Some(command) = &m.command {
                    entry.command = command.clone();
                }
                Some(entry)
            })
            .collect()
    }

    /// Writes exactly one entry per server the connection's vaults cover
    /// (two when the file had two names for one server), removes its
    /// entries for servers they no longer cover, and puts back the entries
    /// something else changed, each in its place (a name written twice is
    /// written once, last). Records the names written.
    fn write_entries(
        &mut self,
        app: App,
        file: &ConfigFile,
        text: &str,
        connection: &AppConnection,
    ) -> Result<AppChange> {
        let urls = if connection.vault_ids.is_empty() {
            Vec::new()
        } else {
            // Team vaults' servers are listed on their team server.
            keybearer_team_vaults::server_urls(self.engine, &connection.vault_ids)?
        };
        let servers = app_configs::list_servers(file, text)?;
        let (existing, restored) = self.inspect(app, file, text, connection)?;
        let covered = |m: &Managed| m.url.as_ref().is_some_and(|url| urls.contains(url));
        let stale: Vec<&str> = existing
            .iter()
            .filter(|m| !covered(m))
            .map(|m| m.name.as_str())
            .collect();
        let mut names_in_use: Vec<String> = servers
            .iter()
            .map(|entry| entry.name.clone())
            .filter(|name| !stale.contains(&name.as_str()))
            .collect();
        let mut entries = Vec::new();
        let mut added = Vec::new();
        for url in &urls {
            let kept: Vec<&Managed> = existing
                .iter()
                .filter(|m| m.url.as_ref() == Some(url))
                .collect();
            if kept.is_empty() {
                let name = names::entry_name(url, &names_in_use);
                names_in_use.push(name.clone());
                added.push(name.clone());
                entries.push(self.bridge_entry(&name, &connection.id, url));
            }
            for m in kept {
                entries.push(self.bridge_entry(&m.name, &connection.id, url));
            }
        }
        // A repeated name goes entirely, then comes back once.
        let mut gone: Vec<&str> = stale.clone();
        gone.extend(
            existing
                .iter()
                .filter(|m| m.repeated && covered(m))
                .map(|m| m.name.as_str()),
        );
        let mut new_text = app_configs::remove_entries(file, text, &gone)?;
        // A name Keybearer wrote that holds something else now: replaced in place.
        for m in existing
            .iter()
            .filter(|m| !m.marked && !m.repeated && covered(m))
        {
            if let Some(entry) = entries.iter().find(|e| e.name == m.name) {
                new_text = app_configs::replace_with_bridge(file, &new_text, entry)?;
            }
        }
        new_text = app_configs::upsert_bridge_entries(file, &new_text, &entries)?;
        if new_text != text {
            app_configs::write_atomic(&file.path, &new_text)?;
        }
        self.record(app, connection, &entries, &restored)?;
        let changed = !added.is_empty() || !stale.is_empty() || !restored.is_empty();
        Ok(AppChange {
            connection: Some(connection.clone()),
            name: app.display_name().to_string(),
            config_path: self.env.locations.display_path(&file.path),
            entries: entries.into_iter().map(|entry| entry.name).collect(),
            added,
            removed: stale.iter().map(|name| name.to_string()).collect(),
            restored,
            restart_needed: changed && !reloads_by_itself(app),
        })
    }

    /// Remembers the entries written for the connection; an entry put back
    /// is an audit event (the names, never what they held).
    fn record(
        &mut self,
        app: App,
        connection: &AppConnection,
        entries: &[BridgeEntry],
        restored: &[ChangedEntry],
    ) -> Result<()> {
        let written: Vec<WrittenEntry> = entries
            .iter()
            .filter_map(|entry| {
                Some(WrittenEntry {
                    name: entry.name.clone(),
                    server_url: managed::server_arg(&entry.args)?.to_string(),
                    command: entry.command.clone(),
                })
            })
            .collect();
        let tx = self.engine.store_mut().write()?;
        entries_table::set(&tx, &connection.id, &written)?;
        if !restored.is_empty() {
            let names: Vec<&str> = restored.iter().map(|r| r.name.as_str()).collect();
            let detail = format!("{}: {}", app.id(), names.join(", "));
            events::insert(
                &tx,
                &NewEvent {
                    environment: Some(&connection.environment),
                    connection_id: Some(&connection.id),
                    detail: Some(&detail),
                    ..NewEvent::new(EventKind::AppEntriesRestored)
                },
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn bridge_entry(&self, name: &str, connection_id: &str, url: &str) -> BridgeEntry {
        self.entry_maker().entry(name, connection_id, url)
    }

    /// Made before a transaction borrows the engine (import writes the
    /// entries inside one).
    fn entry_maker(&self) -> EntryMaker {
        let home = (!is_default_data_dir(self.engine.data_dir()))
            .then(|| self.engine.data_dir().to_string_lossy().into_owned());
        EntryMaker {
            program: self.env.program.to_string_lossy().into_owned(),
            home,
        }
    }
}

/// What every bridge entry of this computer holds besides its name,
/// connection and server.
struct EntryMaker {
    program: String,
    /// `KEYBEARER_HOME`, when the data folder is not the default one.
    home: Option<String>,
}

impl EntryMaker {
    fn entry(&self, name: &str, connection_id: &str, url: &str) -> BridgeEntry {
        let mut entry = BridgeEntry::new(name, self.program.as_str(), connection_id, url);
        if let Some(home) = &self.home {
            entry.env.push(("KEYBEARER_HOME".to_string(), home.clone()));
        }
        entry
    }
}

/// The file's text (wiped when dropped: it may hold pasted tokens); a
/// missing file is an empty one, an unreadable one an error.
fn read(file: &ConfigFile) -> Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(app_configs::read_config(file)?);
    app_configs::list_servers(file, &text)?;
    Ok(text)
}

fn is_default_data_dir(dir: &Path) -> bool {
    std::env::var_os("KEYBEARER_HOME").is_none()
        && keybearer_vault::default_data_dir().is_ok_and(|default| default == dir)
}

/// Apps that watch their settings file; the others read it when they start.
fn reloads_by_itself(app: App) -> bool {
    matches!(app, App::VsCode | App::Zed | App::Cursor)
}
