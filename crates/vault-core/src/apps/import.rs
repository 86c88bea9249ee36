//! Import: moving tokens that were pasted into an app's settings file into a
//! vault (docs/architecture.md, "App connections").
//!
//! Flow: scan the file (`app_configs::scan`) → show what was found, never a
//! value ([`PastedSecret`]) → on the user's word: seal the file as it is
//! into `app_backups` (for undo), add each bearer token to the chosen vault
//! as a credential, connect the app to that vault (or add the vault to its
//! connection), replace each imported entry with a bridge entry of the same
//! name, write the file atomically, and check that no imported token's bytes
//! are left in it. Undo writes the sealed original back.
//!
//! Limits: bearer tokens and other secret headers are importable (an entry
//! with more than a bearer token becomes a header credential carrying all
//! its literal headers); URL query tokens and token variables are reported
//! as "not yet importable" and left where they are. A server the vault
//! already holds a credential for keeps that credential.

use serde::Serialize;

use super::{parse_app, read, AppChange, Apps};
use crate::audit::EventKind;
use crate::credential_secret::{CredentialSecret, SecretHeader};
use crate::error::{Error, Result};
use crate::model::{new_id, NewCredential, Protocol, Timestamp};
use crate::secret::AccessToken;
use crate::store::app_backups::{self, Backup};
use crate::store::events::{self, NewEvent};

/// A secret found in an app's settings: where, never what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PastedSecret {
    /// The server entry's name in the app's settings.
    pub server: String,
    /// The server's URL (without secret query parameters).
    pub url: String,
    /// Where in the entry: "Authorization header", "X-API-Key header", …
    pub location: String,
    pub importable: bool,
    /// Why it cannot be imported (yet), when it cannot.
    pub note: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ImportOutcome {
    /// Entries now served by the bridge, with the credential that holds the token.
    pub imported: Vec<ImportedEntry>,
    /// Found but left in place (not importable yet, or already in the vault).
    pub left: Vec<PastedSecret>,
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
    /// entries at the bridge. Needs the vault unlocked.
    pub fn import(&mut self, app_id: &str, vault: &str) -> Result<ImportOutcome> {
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

        // The file as it was, sealed, before anything changes.
        let master = self.engine.master_key()?;
        let backup_id = new_id("bkp");
        let sealed = crate::tokens::seal_backup(&master, &backup_id, app.id(), &original)?;
        drop(master);

        // Secrets into the vault: one credential per server entry (a bearer
        // token alone stays a bearer credential; anything else becomes a
        // header credential with every literal header the entry sent).
        let existing = self.engine.catalog().credentials(&vault.id)?;
        let mut imported = Vec::new();
        let mut entries: Vec<&str> = wanted.iter().map(|f| f.server.as_str()).collect();
        entries.dedup();
        for server in entries {
            let found: Vec<&&app_configs::Finding> =
                wanted.iter().filter(|f| f.server == server).collect();
            let Some(first) = found.first() else {
                continue;
            };
            // As a credential stores it (a plain-http localhost pinned), so
            // the bridge entry names the stored credential's address.
            let url = crate::server_url::pin_localhost(&crate::server_url::normalize_server_url(
                &first.url,
            )?);
            if let Some(credential) = existing.iter().find(|c| c.mcp_server_url == url) {
                imported.push(ImportedEntry {
                    server: server.to_string(),
                    url,
                    credential_id: credential.id.clone(),
                });
                continue;
            }
            let credential = self.engine.catalog().add_credential(
                &vault.id,
                NewCredential {
                    mcp_server_url: url.clone(),
                    protocol: protocol_of(&servers, server),
                    secret: secret_of(&found, &servers, server)?,
                },
            )?;
            imported.push(ImportedEntry {
                server: server.to_string(),
                url,
                credential_id: credential.id,
            });
        }

        // The connection: made, or the vault added to it (last, so the
        // vaults already there keep winning the servers they hold).
        let created_connection = connection.is_none();
        let connection = match connection {
            None => {
                let path = file.path.to_string_lossy().into_owned();
                self.engine.connections().create(
                    app.id(),
                    std::slice::from_ref(&vault.id),
                    &path,
                )?
            }
            Some(connection) if connection.vault_ids.contains(&vault.id) => connection,
            Some(connection) => {
                let mut vaults = connection.vault_ids.clone();
                vaults.push(vault.id.clone());
                self.engine.connections().change(&connection.id, &vaults)?
            }
        };
        {
            let store = self.engine.store_mut();
            let tx = store.write()?;
            app_backups::replace(
                &tx,
                &Backup {
                    id: backup_id,
                    app: app.id().to_string(),
                    config_path: file.path.to_string_lossy().into_owned(),
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
            tx.commit()?;
        }

        // Each imported entry becomes a bridge entry under its own name; then
        // the connection's other servers get theirs.
        let mut text = zeroize::Zeroizing::new(original.to_string());
        for entry in &imported {
            let bridge = self.bridge_entry(&entry.server, &connection.id, &entry.url);
            text =
                zeroize::Zeroizing::new(app_configs::replace_with_bridge(&file, &text, &bridge)?);
        }
        app_configs::write_atomic(&file.path, &text)?;
        let change = self.write_entries(app, &file, &text, &connection)?;
        let written = zeroize::Zeroizing::new(app_configs::read_config(&file)?);
        for finding in &findings {
            let imported_here = imported.iter().any(|e| e.server == finding.server);
            if imported_here && written.contains(finding.secret.expose_secret()) {
                return Err(Error::invalid(
                    "app",
                    format!(
                        "An imported token is still in {} (another entry or a comment holds it too). Remove it there by hand; Keybearer's copy is safe in the vault.",
                        self.env.locations.display_path(&file.path)
                    ),
                ));
            }
        }
        let mut change = change;
        // Replaced entries are new servers to the app as much as added ones.
        change.restart_needed |= !imported.is_empty() && !super::reloads_by_itself(app);
        Ok(ImportOutcome {
            imported,
            left,
            change,
        })
    }

    /// Puts the app's settings file back as it was before the last import.
    /// The imported credentials stay in the vault.
    pub fn undo_import(&mut self, app_id: &str) -> Result<AppChange> {
        let app = parse_app(app_id)?;
        let backup = app_backups::latest(self.engine.store_mut().conn(), app.id())?
            .ok_or_else(|| Error::not_found("import to undo for", app.display_name()))?;
        let master = self.engine.master_key()?;
        let text =
            crate::tokens::open_backup(&master, &backup.id, &backup.app, &backup.sealed_text)?;
        drop(master);
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
            crate::store::connection_entries::set(&tx, connection_id, entries)?;
        }
        app_backups::delete(&tx, &backup.id)?;
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

/// The credential an entry's findings make: a bearer token alone stays a
/// bearer credential; otherwise every literal header the entry sends (the
/// secret ones found, and for a plain remote entry its other headers too,
/// which the server may need as well) becomes a header credential.
fn secret_of(
    found: &[&&app_configs::Finding],
    servers: &[app_configs::ServerEntry],
    server: &str,
) -> Result<CredentialSecret> {
    use app_configs::FindingKind;
    if let [only] = found {
        if only.kind == FindingKind::BearerToken {
            return Ok(AccessToken::new(only.secret.expose_secret().to_string())?.into());
        }
    }
    let mut headers: Vec<SecretHeader> = Vec::new();
    for finding in found {
        let header = match &finding.kind {
            FindingKind::BearerToken => SecretHeader::new(
                "Authorization",
                format!("Bearer {}", finding.secret.expose_secret()),
            )?,
            FindingKind::OtherHeader(name) => {
                SecretHeader::new(name, finding.secret.expose_secret().to_string())?
            }
            FindingKind::QueryParam(_) | FindingKind::EnvVar(_) => continue,
        };
        headers.push(header);
    }
    let others = servers
        .iter()
        .find(|s| s.name == server)
        .and_then(|s| match &s.transport {
            app_configs::Transport::Remote(remote) => Some(remote.headers.clone()),
            _ => None,
        });
    for (name, value) in others.unwrap_or_default() {
        let taken = headers.iter().any(|h| h.name().eq_ignore_ascii_case(&name));
        // Headers Keybearer sets itself (Content-Type, Accept, …) or cannot
        // carry are left to the bridge, not copied into the credential.
        if !taken && !value.contains('$') && !value.contains("{env:") {
            if let Ok(header) = SecretHeader::new(&name, value) {
                headers.push(header);
            }
        }
    }
    CredentialSecret::headers(headers)
}

fn describe(finding: &app_configs::Finding) -> PastedSecret {
    use app_configs::FindingKind;
    let (location, importable, note) = match &finding.kind {
        FindingKind::BearerToken => (
            "Authorization header (bearer token)".to_string(),
            true,
            None,
        ),
        FindingKind::OtherHeader(name) => (format!("{name} header"), true, None),
        FindingKind::QueryParam(name) => (
            format!("\"{name}\" in the server's address"),
            false,
            Some(
                "not yet importable: a token in the address cannot be sent as a header".to_string(),
            ),
        ),
        FindingKind::EnvVar(name) => (
            format!("{name} variable"),
            false,
            Some("not yet importable: how the app uses this variable is not known".to_string()),
        ),
    };
    let url_ok = crate::server_url::normalize_server_url(&finding.url).is_ok();
    let (importable, note) = if importable && !url_ok {
        (
            false,
            Some(
                "not importable: the server's address is not https:// (or this computer)"
                    .to_string(),
            ),
        )
    } else {
        (importable, note)
    };
    PastedSecret {
        server: finding.server.clone(),
        url: finding.url.clone(),
        location,
        importable,
        note,
    }
}

/// The protocol the entry's own settings name, if they name one.
fn protocol_of(servers: &[app_configs::ServerEntry], name: &str) -> Option<Protocol> {
    servers
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| match &s.transport {
            app_configs::Transport::Remote(remote) => remote.transport.map(|t| match t {
                app_configs::RemoteTransport::Sse => Protocol::Sse,
                app_configs::RemoteTransport::Http => Protocol::StreamableHttp,
            }),
            _ => None,
        })
}
