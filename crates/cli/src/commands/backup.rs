//! `backup create` and `backup restore` (docs/architecture.md, "Backups").
//!
//! Create: refused inside a Keybearer session (a backup holds every token,
//! and under a passphrase the agent chose it could open it; the same rule
//! as direct mode), then the file name is checked (an existing file is kept
//! unless `--force`), then the vault is unlocked, then the recovery key (or a new
//! passphrase, typed twice) is asked for: from a hidden prompt, or standard
//! input for scripts, never an argument.
//!
//! Restore: the file is read and checked before anything is asked (not a
//! backup, damaged, made by a newer Keybearer); a folder with vaults is
//! refused without `--merge`; then the backup's key is asked and the backup
//! opened. In a data folder not set up yet, the new key is planned and its
//! recovery key shown and flushed (as `init` does) before the key and the
//! data are stored in one transaction. Any failure before that commit
//! changes nothing.

use std::path::Path;

use keybearer_vault::{
    App, BackupError, BackupSeal, Backups, Engine, Error, Locations, Os, RestoreOptions,
    RestoreReport, SealKind, SealedBackup, SetupProtection,
};

use crate::commands::setup::show_recovery_key;
use crate::input;
use crate::output::Output;

pub fn create(
    engine: &mut Engine,
    out: &Output,
    file: &Path,
    passphrase: bool,
    force: bool,
) -> Result<(), Error> {
    #[cfg(unix)]
    if keybearer_session::inside_session(engine)? {
        return Err(Error::NotApproved(
            "This command runs inside a Keybearer session, where an agent could run it, and a backup holds every token, so it is refused here. Make backups from your own terminal or from the Keybearer window.".into(),
        ));
    }
    Backups::check_target(file, force)?;
    super::unlock(engine)?;
    let seal = if passphrase {
        BackupSeal::Passphrase(input::read_new_backup_passphrase()?)
    } else {
        BackupSeal::RecoveryKey(input::read_recovery_key_asking(
            "Your recovery key (it seals the backup): ",
        )?)
    };
    let made = engine.backups().create(file, seal, force)?;
    out.either(&made, || {
        outln!(
            "Backed up {} vault(s), {} credential(s) and {} app connection(s) to {}.",
            made.vaults,
            made.credentials,
            made.connections,
            made.file
        );
        let (key, the_key) = match made.sealed_with {
            SealKind::RecoveryKey => ("your current recovery key", "the recovery key"),
            SealKind::Passphrase => ("the passphrase you just chose", "the passphrase"),
        };
        outln!(
            "The file holds every token, header value and OAuth sign-in (refresh tokens\n\
             and client secrets too), encrypted: only {key} opens it.\n\
             Keep the file and {the_key} in different places.\n\
             On the new computer: keybearer backup restore FILE"
        );
    })
}

pub fn restore(
    engine: &mut Engine,
    out: &Output,
    file: &Path,
    merge: bool,
    passphrase: bool,
) -> Result<(), Error> {
    let sealed = SealedBackup::read(file)?;
    let status = engine.status()?;
    if status.vaults > 0 && !merge {
        return Err(BackupError::VaultsExist {
            vaults: status.vaults,
        }
        .into());
    }
    if status.initialized {
        super::unlock(engine)?;
    }
    let typed = match sealed.sealed_with() {
        SealKind::RecoveryKey => {
            input::read_recovery_key_asking("The recovery key the backup was made with: ")?
        }
        SealKind::Passphrase => input::read_backup_passphrase()?,
    };
    let opened = sealed.open(&typed)?;
    drop(typed);
    let options = RestoreOptions {
        merge,
        apps_here: Locations::from_env().map(|locations| (Os::current(), locations)),
    };
    let report = if status.initialized {
        engine.backups().restore(&opened, None, &options)?
    } else {
        let how = if passphrase {
            SetupProtection::Passphrase(input::read_new_passphrase()?)
        } else {
            SetupProtection::Keychain
        };
        let pending = engine.keys().plan_setup(how)?;
        let stored_in = if passphrase {
            "protected by your passphrase"
        } else {
            "stored in your system keychain"
        };
        show_recovery_key(
            out,
            &pending,
            &format!("Keybearer is set up on this computer with a new key, {stored_in}."),
        )?;
        engine.backups().restore(&opened, Some(pending), &options)?
    };
    out.either(&report, || say(&report, sealed.sealed_with()))
}

fn say(report: &RestoreReport, sealed_with: SealKind) {
    outln!(
        "Restored {} vault(s) and {} credential(s).",
        report.vaults,
        report.credentials
    );
    if !report.skipped_vaults.is_empty() {
        outln!("Left out (nothing here was changed):");
        for vault in &report.skipped_vaults {
            outln!(
                "  vault \"{}\" ({}, {} credential(s)): {}",
                vault.name,
                vault.environment,
                vault.credentials,
                vault.reason
            );
        }
    }
    for connection in &report.skipped_connections {
        outln!(
            "  app connection of {}: not restored, {}",
            app_name(&connection.app),
            connection.reason
        );
    }
    if !report.connections.is_empty() {
        let names: Vec<String> = report
            .connections
            .iter()
            .map(|c| app_name(&c.app))
            .collect();
        outln!(
            "App connections restored: {}.\n\
             Their settings files on this computer do not hold Keybearer's entries yet:\n\
             run `keybearer apps sync` to write them (apps that read their settings only\n\
             when they start need a restart). An app not installed here can be\n\
             disconnected: `keybearer apps disconnect APP`.",
            names.join(", ")
        );
    }
    if report.new_key {
        outln!(
            "This computer has its own key and the recovery key shown above. The backup\n\
             still opens with {}, not with the new key.",
            match sealed_with {
                SealKind::RecoveryKey => "the old recovery key",
                SealKind::Passphrase => "its passphrase",
            }
        );
    }
}

fn app_name(id: &str) -> String {
    id.parse::<App>()
        .map(|app| app.display_name().to_string())
        .unwrap_or_else(|_| keybearer_vault::printable(id))
}
