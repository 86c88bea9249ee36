//! Copies of imported tokens that the import could not take out of an app's
//! settings: said in plain words, and the backups deleted when the user asks
//! (docs/architecture.md, "App connections").
//!
//! Flow: the import records the settings file's identity before it rewrites
//! it (`app_configs::identity`), then reports (1) an imported token still in
//! the new text itself (another entry or a comment holds it too), (2) each
//! backup beside the file that holds one (`app_configs::find_copies`), and
//! (3) the file's other hard links that the search did not name (their
//! count, and how to find them: Keybearer does not search the disk). With
//! `delete_copies` (the CLI's `--delete-copies`, the window's "Delete these
//! copies") the backups are deleted, each checked again first. Later,
//! [`Apps::delete_token_copies`] does the same for the last import, taking
//! the tokens from its sealed copy of the file: those no longer in the file.
//!
//! Limits: see `app_configs::copies` (only the file's own folder(s) are
//! searched; hard links are counted, not found; no link count on Windows;
//! a token shorter than `app_configs::MIN_SECRET_BYTES` is not looked for
//! in backups, so none is reported nor deleted for it; a file renamed to a
//! backup's name in the instant between the last check and the unlink is
//! deleted).
//! Keybearer's own copy of the file is sealed in `app_backups` and never
//! written to disk in the clear.

use std::path::PathBuf;

use app_configs::{ConfigFile, FileIdentity, FoundCopy, Locations};
use serde::Serialize;

use super::{parse_app, Apps};
use crate::backups_table;
use keybearer_base::error::{Error, Result};

/// Where a copy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    /// A backup file beside the settings file (Keybearer can delete it).
    Backup,
    /// Other names (hard links) of the settings file as it was.
    HardLink,
    /// The settings file itself (another entry or a comment).
    SettingsFile,
}

/// A copy of an imported token that is still on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TokenCopy {
    pub kind: CopyKind,
    /// The file, home shown as `~`; `None` for hard links (names unknown).
    pub path: Option<String>,
    /// How many files: 1, or the number of unnamed hard links.
    pub count: u32,
    /// The entries whose tokens it holds.
    pub servers: Vec<String>,
    /// Keybearer can delete it (a backup file, a regular file).
    pub deletable: bool,
    /// The copy in plain words, with what to do.
    pub message: String,
}

/// What deleting the copies did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CopiesCleanup {
    /// The files deleted, home shown as `~`.
    pub deleted: Vec<String>,
    /// Backups still holding a token (they could not be deleted).
    pub copies: Vec<TokenCopy>,
}

/// The tokens to look for, each with the entry it came from.
pub(super) type Secrets<'a> = [(&'a str, &'a str)];

/// Every copy of `secrets` the import left, after `file` was rewritten to
/// `new_text`. `before`: the file's identity before the rewrite.
pub(super) fn left_behind(
    locations: &Locations,
    file: &ConfigFile,
    before: Option<FileIdentity>,
    new_text: &str,
    secrets: &Secrets<'_>,
) -> (Vec<TokenCopy>, Vec<FoundCopy>) {
    let shown = locations.display_path(&file.path);
    let mut copies = Vec::new();
    let inside: Vec<String> = servers_of(
        secrets,
        &(0..secrets.len())
            // As for backups: a few characters turn up in any text (the
            // entries' own ids included), so a short secret is not looked for.
            .filter(|&i| {
                secrets[i].1.len() >= app_configs::MIN_SECRET_BYTES
                    && new_text.contains(secrets[i].1)
            })
            .collect::<Vec<_>>(),
    );
    if !inside.is_empty() {
        copies.push(TokenCopy {
            kind: CopyKind::SettingsFile,
            path: Some(shown.clone()),
            count: 1,
            message: format!(
                "{} still in {shown} itself (another entry or a comment holds it too). Remove it there by hand.",
                a_copy(inside.len())
            ),
            servers: inside,
            deletable: false,
        });
    }
    let values: Vec<&str> = secrets.iter().map(|(_, secret)| *secret).collect();
    let found = app_configs::find_copies(&file.path, &values);
    for copy in &found {
        copies.push(backup(locations, copy, secrets));
    }
    if let Some(links) = unnamed_links(file, before, &found) {
        copies.push(TokenCopy {
            kind: CopyKind::HardLink,
            path: None,
            count: links.count,
            message: links.message(&shown, secrets.len()),
            servers: servers_of(secrets, &(0..secrets.len()).collect::<Vec<_>>()),
            deletable: false,
        });
    }
    (copies, found)
}

/// Deletes the backups in `found` that still hold one of `secrets`; returns
/// the files deleted and the copies that stay (with why).
pub(super) fn delete(
    locations: &Locations,
    found: &[FoundCopy],
    secrets: &Secrets<'_>,
) -> CopiesCleanup {
    let values: Vec<&str> = secrets.iter().map(|(_, secret)| *secret).collect();
    let mut cleanup = CopiesCleanup {
        deleted: Vec::new(),
        copies: Vec::new(),
    };
    for copy in found {
        match app_configs::delete_copy(&copy.path, &values) {
            Ok(true) => cleanup.deleted.push(locations.display_path(&copy.path)),
            Ok(false) => {} // changed since: it no longer holds a token
            Err(error) => {
                let mut left = backup(locations, copy, secrets);
                left.message = format!(
                    "{} still in {}: it could not be deleted ({error}). Delete it by hand.",
                    a_copy(left.servers.len()),
                    locations.display_path(&copy.path)
                );
                cleanup.copies.push(left);
            }
        }
    }
    cleanup
}

impl Apps<'_> {
    /// Deletes the backups beside the app's settings file that hold a token
    /// its last import took out of the file. Needs the vault unlocked (the
    /// tokens come from the import's sealed copy of the file).
    pub fn delete_token_copies(&mut self, app_id: &str) -> Result<CopiesCleanup> {
        let app = parse_app(app_id)?;
        let backup = backups_table::latest(self.engine.store_mut().conn(), app.id())?
            .ok_or_else(|| {
                Error::invalid(
                    "app",
                    format!(
                        "Keybearer has no import from {} to clean up after (none was made, or it was undone), so it does not know which tokens to look for. Nothing was deleted.",
                        app.display_name()
                    ),
                )
            })?;
        let original = self
            .engine
            .open_app_backup(&backup.id, &backup.app, &backup.sealed_text)?;
        let file = ConfigFile::new(app, PathBuf::from(&backup.config_path));
        let findings = app_configs::scan(&file, &original)?;
        let current = zeroize::Zeroizing::new(app_configs::read_config(&file)?);
        let secrets: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.server.as_str(), f.secret.expose_secret()))
            .filter(|(_, secret)| !current.contains(secret))
            .collect();
        if secrets.is_empty() {
            return Ok(CopiesCleanup {
                deleted: Vec::new(),
                copies: Vec::new(),
            });
        }
        let values: Vec<&str> = secrets.iter().map(|(_, secret)| *secret).collect();
        let found = app_configs::find_copies(&file.path, &values);
        Ok(delete(&self.env.locations, &found, &secrets))
    }
}

fn backup(locations: &Locations, copy: &FoundCopy, secrets: &Secrets<'_>) -> TokenCopy {
    let servers = servers_of(secrets, &copy.holds);
    let shown = locations.display_path(&copy.path);
    TokenCopy {
        kind: CopyKind::Backup,
        path: Some(shown.clone()),
        count: 1,
        message: format!(
            "{} still in {shown} (a backup of the settings file). Delete it?",
            a_copy(servers.len())
        ),
        servers,
        deletable: true,
    }
}

/// "A copy of this token is", "Copies of these tokens are".
fn a_copy(tokens: usize) -> &'static str {
    if tokens == 1 {
        "A copy of this token is"
    } else {
        "Copies of these tokens are"
    }
}

/// The entries of the secrets at `indexes`, each once, in order.
fn servers_of(secrets: &Secrets<'_>, indexes: &[usize]) -> Vec<String> {
    let mut servers: Vec<String> = Vec::new();
    for &i in indexes {
        let server = secrets[i].0;
        if !servers.iter().any(|s| s == server) {
            servers.push(server.to_string());
        }
    }
    servers
}

/// Hard links of the file as it was that the search did not name.
struct Links {
    count: u32,
    inode: u64,
}

impl Links {
    fn message(&self, shown: &str, tokens: usize) -> String {
        let (names, it) = if self.count == 1 {
            ("another name".to_string(), "it")
        } else {
            (format!("{} other names", self.count), "them")
        };
        format!(
            "{} still in {names} for {shown} (a hard link keeps the file as it was). Keybearer cannot tell where without searching the disk: `find ~ -xdev -inum {}` lists {it} (search from / if it is not under your home folder). Delete {it} by hand.",
            a_copy(tokens),
            self.inode
        )
    }
}

fn unnamed_links(
    file: &ConfigFile,
    before: Option<FileIdentity>,
    found: &[FoundCopy],
) -> Option<Links> {
    let before = before?;
    let after = app_configs::identity(&file.path);
    // Not rewritten in place of the old file: no name kept the old contents.
    if before.links < 2
        || after.is_some_and(|a| a.inode == before.inode && a.device == before.device)
    {
        return None;
    }
    let named = found
        .iter()
        .filter(|copy| copy.file == Some((before.device, before.inode)))
        .count() as u64;
    let count = (before.links - 1).saturating_sub(named);
    (count > 0).then(|| Links {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        inode: before.inode,
    })
}
