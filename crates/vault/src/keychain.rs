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
/// Windows Credential Manager, or the Linux Secret Service. On macOS the
/// item is added to the login keychain with no access list of our own, so
/// the system trusts only the program that created it and prompts any other
/// (docs/architecture.md, "Platforms").
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

/// Apps start their MCP servers with a few environment variables only
/// (Codex passes HOME, PATH, USER and the like; Claude Desktop and the MCP
/// SDKs' stdio clients similar sets), so a bridge may start without
/// `DBUS_SESSION_BUS_ADDRESS`, and the Secret Service is then out of reach.
/// The user's session bus has a well-known place on systemd desktops: use
/// it when the variable is missing. Call first thing, before any thread.
pub fn find_session_bus() {
    #[cfg(target_os = "linux")]
    {
        let unset = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|v| v.is_empty());
        if !unset {
            return;
        }
        let uid = nix::unistd::getuid();
        let candidates = [
            std::env::var_os("XDG_RUNTIME_DIR")
                .map(|dir| std::path::PathBuf::from(dir).join("bus")),
            Some(std::path::PathBuf::from(format!("/run/user/{uid}/bus"))),
        ];
        for socket in candidates.into_iter().flatten() {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            let ours = std::fs::metadata(&socket)
                .is_ok_and(|m| m.file_type().is_socket() && m.uid() == uid.as_raw());
            if ours {
                std::env::set_var(
                    "DBUS_SESSION_BUS_ADDRESS",
                    format!("unix:path={}", socket.display()),
                );
                return;
            }
        }
    }
}
