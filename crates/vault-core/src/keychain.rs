//! The OS keychain, where the master key lives (docs/architecture.md, "Keys"). Calls may block
//! on an unlock prompt: the desktop app must make them off its UI thread.

use crate::error::Error;
use crate::secret::MasterKey;

const SERVICE: &str = "keybearer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeychainError {
    /// No keychain service at all (e.g. a Linux box without a Secret Service).
    Unavailable(String),
    /// The service exists but is locked or refused access.
    Locked(String),
}

impl From<KeychainError> for Error {
    fn from(error: KeychainError) -> Self {
        match error {
            KeychainError::Unavailable(detail) => Error::KeychainUnavailable(detail),
            KeychainError::Locked(detail) => Error::KeychainLocked(detail),
        }
    }
}

/// Where a master key is kept. `account` names one installation's key, so
/// several data folders on one machine never share or overwrite a key.
pub trait KeyStore: Send + Sync {
    fn load(&self, account: &str) -> Result<Option<MasterKey>, KeychainError>;
    fn save(&self, account: &str, key: &MasterKey) -> Result<(), KeychainError>;
}

/// The platform keychain through the `keyring` crate: macOS Keychain,
/// Windows Credential Manager, or the Linux Secret Service.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeychain;

impl OsKeychain {
    /// The account name used in the keychain for an installation.
    pub fn account_for(install_id: &str) -> String {
        format!("master-key-{install_id}")
    }

    pub fn service() -> &'static str {
        SERVICE
    }

    fn entry(account: &str) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(SERVICE, account).map_err(classify)
    }
}

impl KeyStore for OsKeychain {
    fn load(&self, account: &str) -> Result<Option<MasterKey>, KeychainError> {
        match Self::entry(account)?.get_secret() {
            // A value that is not a 32-byte key cannot open anything: treat it
            // as no key, which leads the user to recovery.
            Ok(bytes) => Ok(MasterKey::from_bytes(&zeroize::Zeroizing::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(other) => Err(classify(other)),
        }
    }

    fn save(&self, account: &str, key: &MasterKey) -> Result<(), KeychainError> {
        Self::entry(account)?
            .set_secret(key.as_bytes())
            .map_err(classify)
    }
}

fn classify(error: keyring::Error) -> KeychainError {
    match error {
        keyring::Error::NoStorageAccess(detail) => KeychainError::Locked(detail.to_string()),
        other => KeychainError::Unavailable(other.to_string()),
    }
}
