pub mod apps;
pub mod ask;
pub mod backup;
pub mod bridge;
pub mod catalog;
pub mod credentials;
pub mod environments;
pub mod events;
pub mod known_server;
#[cfg(any(unix, windows))]
pub mod sessions;
pub mod settings;
pub mod setup;
pub mod sign_in;
pub mod team;
pub mod team_credentials;
pub mod vault_move;
pub mod vaults;

use keybearer_vault::{Engine, Error, KeyProtection};

use crate::input;

/// Unlocks before an operation that needs the master key: through the
/// keychain, or with the passphrase for passphrase-protected vaults.
pub fn unlock(engine: &mut Engine) -> Result<(), Error> {
    if engine.keys().protection()? == Some(KeyProtection::Passphrase) {
        let passphrase = input::read_passphrase()?;
        engine.keys().unlock_with_passphrase(&passphrase)
    } else {
        engine.keys().unlock()
    }
}
