//! What can go wrong with a backup file (docs/architecture.md, "Backups"):
//! making one, reading one, restoring one. Messages are plain words for
//! people who are not engineers, say what to do and that nothing was
//! changed, and never contain a secret (the key, the passphrase, a token);
//! [`BackupError::code`] is what programs branch on.

use crate::error::ErrorCode;

/// Why a backup could not be made, read or restored.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// Not a Keybearer backup at all (another file chosen by mistake).
    #[error("{file} is not a Keybearer backup file. Choose the file `keybearer backup create` (or Settings → Back up) made. Nothing was changed.")]
    NotABackup { file: String },

    /// Cut short or changed on its way (a copy that did not finish, a
    /// damaged disk): its checksum does not match.
    #[error("The backup file {file} is damaged: it was cut short or changed after it was made, so it cannot be read. Copy it again from where you kept it, or use another backup. Nothing was changed.")]
    Damaged { file: String },

    /// Its checksum matches, but the sealed contents do not open with a key
    /// that passes the key check: someone changed it on purpose.
    #[error("The backup file {file} was altered after it was made, so Keybearer will not use it. Use another copy of your backup. Nothing was changed.")]
    Altered { file: String },

    /// Made by a newer Keybearer, in a format this one cannot read.
    #[error("The backup file {file} was made by a newer version of Keybearer (backup format {found}; this version reads up to {supported}). Install the newest Keybearer, then restore it. Nothing was changed.")]
    TooNew {
        file: String,
        found: u16,
        supported: u16,
    },

    /// The recovery key typed does not open this backup.
    #[error("That recovery key does not open this backup. Type the recovery key that was current when the backup was made (8 groups of 4 letters and digits). Nothing was changed.")]
    WrongRecoveryKey,

    /// The passphrase typed does not open this backup.
    #[error("That passphrase does not open this backup. Type the passphrase chosen when the backup was made. Nothing was changed.")]
    WrongPassphrase,

    /// The recovery key typed to make a backup is not this computer's
    /// current one: a backup sealed with it could not be opened with the
    /// key the user keeps.
    #[error("That is not the current recovery key of this Keybearer. Type the recovery key you saved (8 groups of 4 letters and digits); if you lost it, make a new one first (Settings → Recovery key, or `keybearer recovery-key regenerate`). No backup was written.")]
    NotCurrentRecoveryKey,

    /// The file to write exists and overwriting was not asked for.
    #[error("{file} already exists. Choose another name, or confirm that it should be replaced (--force). Nothing was written.")]
    FileExists { file: String },

    /// Restoring into a data folder that already has vaults, without the
    /// explicit choice to merge.
    #[error("This Keybearer already has {vaults} vault(s). Restoring would mix the backup with them, so nothing was restored. To add the backup's vaults beside them, restore with --merge (vaults whose names are taken are left out and listed; nothing is overwritten); or restore into an empty data folder.")]
    VaultsExist { vaults: i64 },
}

impl BackupError {
    /// The code programs branch on.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotABackup { .. } | Self::Damaged { .. } | Self::Altered { .. } => {
                ErrorCode::BackupDamaged
            }
            Self::TooNew { .. } => ErrorCode::BackupTooNew,
            Self::WrongRecoveryKey | Self::NotCurrentRecoveryKey => ErrorCode::WrongRecoveryKey,
            Self::WrongPassphrase => ErrorCode::WrongPassphrase,
            Self::FileExists { .. } => ErrorCode::BackupFileExists,
            Self::VaultsExist { .. } => ErrorCode::VaultsExist,
        }
    }

    /// The form field a front end shows the error under, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::WrongRecoveryKey | Self::NotCurrentRecoveryKey => Some("recovery_key"),
            Self::WrongPassphrase => Some("passphrase"),
            Self::FileExists { .. } | Self::NotABackup { .. } => Some("path"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_nothing_changed_and_codes_are_stable() {
        let cases = [
            (BackupError::Damaged { file: "b".into() }, "backup_damaged"),
            (
                BackupError::TooNew {
                    file: "b".into(),
                    found: 9,
                    supported: 1,
                },
                "backup_too_new",
            ),
            (BackupError::WrongPassphrase, "wrong_passphrase"),
            (
                BackupError::FileExists { file: "b".into() },
                "backup_file_exists",
            ),
            (BackupError::VaultsExist { vaults: 2 }, "vaults_exist"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
            let message = error.to_string();
            assert!(
                message.contains("Nothing was") || message.contains("nothing was"),
                "{message}"
            );
        }
    }
}
