//! Where a team server's sign-in (its token) is kept: the OS keychain
//! (service `keybearer-team`, one entry per team server), never the
//! database or a file (docs/architecture.md, "Team vaults"). Calls may
//! block on an unlock prompt: the desktop app makes them off its UI thread.

use keybearer_base::error::{Error, Result};
use zeroize::Zeroizing;

const SERVICE: &str = "keybearer-team";

fn entry(server_id: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("team-server-{server_id}")).map_err(classify)
}

/// The saved token of a team server, if there is one.
pub(crate) fn load(server_id: &str) -> Result<Option<Zeroizing<String>>> {
    match entry(server_id)?.get_secret() {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            // A value that is not text cannot be a token: as if none were saved.
            Ok(std::str::from_utf8(&bytes)
                .ok()
                .filter(|token| !token.is_empty())
                .map(|token| Zeroizing::new(token.to_string())))
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(other) => Err(classify(other)),
    }
}

pub(crate) fn save(server_id: &str, token: &Zeroizing<String>) -> Result<()> {
    entry(server_id)?
        .set_secret(token.as_bytes())
        .map_err(classify)
}

/// Removes the saved token; none saved is fine.
pub(crate) fn delete(server_id: &str) -> Result<()> {
    match entry(server_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(other) => Err(classify(other)),
    }
}

fn classify(error: keyring::Error) -> Error {
    match error {
        keyring::Error::NoStorageAccess(detail) => Error::KeychainLocked(detail.to_string()),
        other => Error::KeychainUnavailable(other.to_string()),
    }
}
