//! init, status, recover, recovery-key.

use std::io::Write;

use keybearer_vault::{Engine, Error, KeyProtection, KeychainStatus, PendingKey, SetupProtection};
use serde_json::json;

use crate::input;
use crate::output::Output;

pub fn init(engine: &mut Engine, out: &Output, passphrase: bool) -> Result<(), Error> {
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
    show_then_commit(
        engine,
        out,
        pending,
        &format!("Keybearer is set up. The master key is {stored_in}."),
    )
}

/// Shows the recovery key and stores the key only once the output was
/// written and flushed: a full disk or a closed pipe leaves everything as
/// it was (no setup; or the old recovery key still working).
fn show_then_commit(
    engine: &mut Engine,
    out: &Output,
    pending: PendingKey,
    headline: &str,
) -> Result<(), Error> {
    show_recovery_key(out, &pending, headline)?;
    engine.keys().commit(pending)
}

/// Writes the recovery key and flushes it; an error means it was not shown
/// (nothing may be stored then). In JSON mode one line,
/// `{"recovery_key":"…"}`.
pub fn show_recovery_key(out: &Output, pending: &PendingKey, headline: &str) -> Result<(), Error> {
    let key = pending.recovery_key().reveal_once();
    // Built straight into the zeroised buffer (the key is letters, digits
    // and dashes: nothing to escape), not through a JSON value.
    let text = if out.json {
        format!("{{\"recovery_key\":\"{key}\"}}\n")
    } else {
        format!(
            "{headline}\n\n\
             Your recovery key (shown only this once):\n\n    {key}\n\n\
             Write it down or keep it in a password manager. If this computer's keychain\n\
             ever loses the master key, `keybearer recover` and this key bring back\n\
             every vault. Without it, the tokens cannot be recovered.\n"
        )
    };
    let text = zeroize::Zeroizing::new(text);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| Error::NotShown(error.to_string()))
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
    let pending = engine.keys().plan_new_recovery_key()?;
    show_then_commit(
        engine,
        out,
        pending,
        "A new recovery key was made. The old one no longer works.",
    )
}
