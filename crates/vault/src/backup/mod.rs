//! Backups: every vault, credential, environment and app connection record
//! in one file, to move to a new computer (docs/architecture.md,
//! "Backups").
//!
//! Make: the user types this installation's current recovery key (checked
//! against the stored recovery copy, so a typo never seals a file with a
//! key nobody has) or a new passphrase, from which the file's key is made
//! (`format`: HKDF-SHA256 of the recovery key or Argon2id of the
//! passphrase); one read snapshot gives everything (`payload::collect`,
//! every secret opened by `tokens`); the payload is sealed (AES-256-GCM,
//! the header as associated data) and written atomically (`file`); then
//! `backup.created` is recorded.
//! Never the keychain's master key: a backup opens on a computer that has
//! never seen it.
//!
//! Restore: [`SealedBackup::read`] checks the file's frame before any key is
//! asked for (not a backup, damaged, too new); [`SealedBackup::open`] opens
//! it with what the user typed and checks every record
//! ([`OpenedBackup`], secrets wiped when dropped); [`Backups::restore`] then
//! puts it in the store in one write transaction (`restore`), together with
//! the first setup when this data folder has none (the new computer's own
//! master key and recovery key, shown before the commit like any setup). A
//! failure at any step changes nothing: no row, no keychain entry (the
//! keychain is written only once the backup opened, when a setup is planned).

mod file;
mod format;
mod payload;
mod restore;

use std::path::Path;

use serde::Serialize;

pub use format::{BackupSeal, SealKind};
pub use restore::{RestoreOptions, RestoreReport, SkippedConnection, SkippedVault};

use crate::audit::EventKind;
use crate::backup_error::BackupError;
use crate::error::{Error, Result};
use crate::keys::{self, KeyRing, PendingKey};
use crate::model::Timestamp;
use crate::secret::UserSecret;
use crate::store::events::{self, NewEvent};
use crate::store::Store;
use payload::Payload;

/// Backups, borrowed from the [`Engine`](crate::Engine).
pub struct Backups<'e> {
    pub(crate) store: &'e mut Store,
    pub(crate) ring: &'e mut KeyRing,
}

/// What a new backup file holds (counts), and how it is sealed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BackupMade {
    pub file: String,
    pub sealed_with: SealKind,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vaults: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub connections: usize,
}

/// What an opened backup holds, shown before it is restored: names and
/// counts, never a secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BackupContents {
    pub made_by: String,
    pub made_at: Timestamp,
    pub sealed_with: SealKind,
    pub vaults: Vec<BackupVault>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: usize,
    /// The apps that were connected (their ids).
    pub apps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BackupVault {
    pub name: String,
    pub environment: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: usize,
}

/// A backup file read and checked (not a backup, damaged, too new), not
/// opened: it says what to ask the user for.
pub struct SealedBackup {
    file: String,
    bytes: Vec<u8>,
    header: format::Header,
}

impl SealedBackup {
    pub fn read(path: &Path) -> Result<Self> {
        let file = file::shown(path);
        let bytes = file::read(path)?;
        let header = format::read_header(&bytes, &file)?;
        Ok(Self {
            file,
            bytes,
            header,
        })
    }

    /// What opens it: the recovery key or a passphrase.
    pub fn sealed_with(&self) -> SealKind {
        self.header.kind()
    }

    /// Opens it with what the user typed and checks every record.
    pub fn open(&self, typed: &UserSecret) -> Result<OpenedBackup> {
        let json = format::open(&self.bytes, &self.header, typed, &self.file)
            .inspect_err(|error| tracing::info!(code = %error.code(), "backup not opened"))?;
        Ok(OpenedBackup {
            payload: Payload::from_json(&json)?,
            sealed_with: self.sealed_with(),
        })
    }
}

/// A backup's contents in the clear, checked; every secret wiped when
/// dropped. Never printed.
pub struct OpenedBackup {
    payload: Payload,
    sealed_with: SealKind,
}

impl std::fmt::Debug for OpenedBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpenedBackup(<redacted>)")
    }
}

impl OpenedBackup {
    pub fn contents(&self) -> BackupContents {
        let payload = &self.payload;
        BackupContents {
            made_by: payload.made_by.clone(),
            made_at: Timestamp(payload.made_at),
            sealed_with: self.sealed_with,
            vaults: payload
                .vaults
                .iter()
                .map(|v| BackupVault {
                    name: v.name.clone(),
                    environment: v.environment.clone(),
                    credentials: payload
                        .credentials
                        .iter()
                        .filter(|c| c.vault_id == v.id)
                        .count(),
                })
                .collect(),
            credentials: payload.credentials.len(),
            apps: payload.connections.iter().map(|c| c.app.clone()).collect(),
        }
    }
}

impl Backups<'_> {
    /// Where the window offers to write a backup: the documents folder (else
    /// the home folder), `keybearer-backup-YYYY-MM-DD.kbbackup`.
    pub fn suggested_file() -> Option<std::path::PathBuf> {
        let dirs = directories::UserDirs::new()?;
        let folder = dirs.document_dir().unwrap_or(dirs.home_dir()).to_path_buf();
        let date: String = Timestamp::now().to_rfc3339().chars().take(10).collect();
        Some(folder.join(format!("keybearer-backup-{date}.kbbackup")))
    }

    /// Refused at once when `path` exists and may not be replaced: a front
    /// end asks this before it asks for any secret.
    pub fn check_target(path: &Path, replace: bool) -> Result<()> {
        file::refuse_existing(path, replace)
    }

    /// Writes every vault, credential, environment and app connection
    /// record to `path`, sealed as `seal` says. Nothing is written when
    /// the recovery key is not the current one, a passphrase is too short,
    /// a stored secret does not open, or `path` exists and `replace` is
    /// false.
    pub fn create(&mut self, path: &Path, seal: BackupSeal, replace: bool) -> Result<BackupMade> {
        file::refuse_existing(path, replace)?;
        let master = self.ring.master(self.store)?;
        let (recovery, sealed_with) = match &seal {
            BackupSeal::RecoveryKey(typed) => {
                let (_, secret) =
                    keys::open_recovery_copy(self.store.conn(), self.ring.install_id(), typed)
                        .map_err(|error| match error {
                            Error::WrongRecoveryKey => BackupError::NotCurrentRecoveryKey.into(),
                            other => other,
                        })?;
                (Some(secret), SealKind::RecoveryKey)
            }
            BackupSeal::Passphrase(passphrase) => {
                keys::check_new_passphrase(passphrase)?;
                (None, SealKind::Passphrase)
            }
        };
        let sealer = format::Sealer::new(match (&seal, &recovery) {
            (BackupSeal::Passphrase(passphrase), _) => format::Sealing::Passphrase(passphrase),
            (_, Some(secret)) => format::Sealing::Recovery(secret),
            (BackupSeal::RecoveryKey(_), None) => unreachable!("read above"),
        })?;
        // One read snapshot (writers are not held up while the file is written).
        let payload = {
            let snapshot = self.store.conn().unchecked_transaction()?;
            let payload = payload::collect(&snapshot, &master)?;
            snapshot.finish()?;
            payload
        };
        let bytes = sealer.seal(&payload.to_json()?)?;
        file::write(path, &bytes, replace)?;
        let made = BackupMade {
            file: file::shown(path),
            sealed_with,
            vaults: payload.vaults.len(),
            credentials: payload.credentials.len(),
            connections: payload.connections.len(),
        };
        let detail = format!(
            "{} vault(s), {} credential(s), {} app connection(s); sealed with {}",
            made.vaults,
            made.credentials,
            made.connections,
            match sealed_with {
                SealKind::RecoveryKey => "the recovery key",
                SealKind::Passphrase => "a passphrase",
            }
        );
        let tx = self.store.write()?;
        events::insert(
            &tx,
            &NewEvent {
                detail: Some(&detail),
                ..NewEvent::new(EventKind::BackupCreated)
            },
        )?;
        tx.commit()?;
        tracing::info!(
            vaults = made.vaults,
            credentials = made.credentials,
            "backup written"
        );
        Ok(made)
    }

    /// Restores an opened backup here, in one transaction. `setup`: this
    /// data folder has no key yet, and this planned first setup (shown to
    /// the user already, as `Keys::commit` expects) is stored with the
    /// data; otherwise the vault must be unlocked. Refused, with nothing
    /// changed, when vaults exist here and `options.merge` is false.
    pub fn restore(
        &mut self,
        opened: &OpenedBackup,
        setup: Option<PendingKey>,
        options: &RestoreOptions,
    ) -> Result<RestoreReport> {
        let unlocked = match &setup {
            Some(pending) if !pending.is_setup() => {
                return Err(Error::invalid(
                    "recovery_key",
                    "A restore can only come with a first setup. Start again.",
                ))
            }
            Some(_) => None,
            None => Some(self.ring.master(self.store)?),
        };
        let tx = self.store.write()?;
        let (master, new_key) = match (setup, unlocked) {
            (Some(pending), _) => {
                let detail = pending.setup_detail();
                let master = keys::apply_pending(
                    &tx,
                    self.ring.keychain(),
                    self.ring.install_id(),
                    pending,
                )?
                .ok_or(Error::AlreadyInitialized)?;
                events::insert(
                    &tx,
                    &NewEvent {
                        detail,
                        ..NewEvent::new(EventKind::SetupCompleted)
                    },
                )?;
                (master, true)
            }
            (None, Some(master)) => (master, false),
            (None, None) => return Err(Error::NotInitialized),
        };
        let mut report = restore::restore(&tx, &master, &opened.payload, options)?;
        report.new_key = new_key;
        let detail = report.detail();
        events::insert(
            &tx,
            &NewEvent {
                detail: Some(&detail),
                ..NewEvent::new(EventKind::BackupRestored)
            },
        )?;
        tx.commit()?;
        tracing::info!(
            vaults = report.vaults,
            credentials = report.credentials,
            new_key,
            "backup restored"
        );
        if new_key {
            self.ring.set_master(master);
        }
        Ok(report)
    }
}
