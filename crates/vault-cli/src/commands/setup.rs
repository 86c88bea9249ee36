//! init, status, recover, recovery-key.

use serde_json::json;
use vault_core::{Engine, Error, KeyProtection, KeychainStatus, RecoveryKey, SetupProtection};

use crate::input;
use crate::output::Output;

pub fn init(engine: &mut Engine, out: &Output, passphrase: bool) -> Result<(), Error> {
    let how = if passphrase {
        SetupProtection::Passphrase(input::read_new_passphrase()?)
    } else {
        SetupProtection::Keychain
    };
    let recovery = engine.keys().initialize(how)?;
    let stored_in = if passphrase {
        "protected by your passphrase"
    } else {
        "stored in your system keychain"
    };
    show_recovery_key(
        out,
        &recovery,
        &format!("Keybearer is set up. The master key is {stored_in}."),
    )
}

fn show_recovery_key(out: &Output, recovery: &RecoveryKey, headline: &str) -> Result<(), Error> {
    out.either(&json!({ "recovery_key": recovery.reveal_once() }), || {
        outln!("{headline}");
        outln!();
        outln!("Your recovery key (shown only this once):");
        outln!();
        outln!("    {}", recovery.reveal_once());
        outln!();
        outln!("Write it down or keep it in a password manager. If this computer's keychain");
        outln!("ever loses the master key, `keybearer recover` and this key bring back");
        outln!("every vault. Without it, the tokens cannot be recovered.");
    })
}

pub fn status(engine: &mut Engine, out: &Output) -> Result<(), Error> {
    let status = engine.status()?;
    out.either(&status, || {
        outln!("Data folder:         {}", status.data_dir.display());
        let keychain = match &status.keychain {
            KeychainStatus::Available { has_key: true } => {
                "reachable, holds this vault's key".to_string()
            }
            KeychainStatus::Available { has_key: false } => {
                "reachable, no key for this vault".to_string()
            }
            KeychainStatus::Locked { detail } => format!("locked ({detail})"),
            KeychainStatus::Unavailable { detail } => format!("not available ({detail})"),
        };
        outln!("System keychain:     {keychain}");
        let state = match (
            status.initialized,
            status.protection,
            status.recovery_needed,
        ) {
            (false, _, _) => "not set up yet: run `keybearer init`",
            (true, _, true) => "LOCKED OUT: the keychain lost the key; run `keybearer recover`",
            (true, Some(KeyProtection::Passphrase), _) => "set up, protected by a passphrase",
            (true, _, _) => match status.keychain {
                KeychainStatus::Available { .. } => "set up, unlocks with the keychain",
                KeychainStatus::Locked { .. } => {
                    "set up, but the keychain is locked: unlock it first"
                }
                KeychainStatus::Unavailable { .. } => {
                    "set up, but the keychain cannot be reached right now"
                }
            },
        };
        outln!("Vault:               {state}");
        outln!("Active environment:  {}", status.active_environment);
        outln!("Vaults:              {}", status.vaults);
        outln!("Credentials:         {}", status.credentials);
    })
}

pub fn recover(engine: &mut Engine, out: &Output, passphrase: bool) -> Result<(), Error> {
    let recovery = input::read_recovery_key()?;
    let protection = if passphrase || engine.keys().protection()? == Some(KeyProtection::Passphrase)
    {
        SetupProtection::Passphrase(input::read_new_passphrase()?)
    } else {
        SetupProtection::Keychain
    };
    engine.keys().recover(&recovery, protection)?;
    let status = engine.status()?;
    out.either(
        &json!({ "recovered": true, "vaults": status.vaults, "credentials": status.credentials }),
        || {
            outln!(
                "Access restored: {} vault(s) and {} credential(s) are available again.",
                status.vaults,
                status.credentials
            );
        },
    )
}

pub fn regenerate_recovery_key(engine: &mut Engine, out: &Output) -> Result<(), Error> {
    super::unlock(engine)?;
    let recovery = engine.keys().regenerate_recovery_key()?;
    show_recovery_key(
        out,
        &recovery,
        "A new recovery key was made. The old one no longer works.",
    )
}
