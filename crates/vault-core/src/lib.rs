//! Keybearer's engine: an encrypted credential store for MCP bearer tokens,
//! keyed by a master key in the OS keychain, with recovery, environments and
//! an audit trail. No Tauri here: the CLI and the desktop shell both sit on it.

mod audit;
mod crypto;
mod engine;
mod error;
mod injection_cache;
mod keychain;
mod keys;
pub mod logging;
mod model;
mod probe;
pub mod proxy;
mod recovery_key;
mod secret;
mod server_url;
/// Agent sessions. Unix only for now (process groups, signals, PTYs).
#[cfg(unix)]
pub mod session;
mod store;
mod usage;

pub use audit::EventKind;
pub use engine::{
    default_data_dir, CredentialCheck, Engine, InjectableToken, Injection, KeychainStatus, Status,
};
pub use error::{Error, ErrorCode, Result};
pub use keychain::{KeyStore, KeychainError, OsKeychain};
pub use keys::{KeyProtection, SetupProtection};
pub use model::{
    Credential, CredentialType, Environment, Event, NewCredential, Protocol, Resolution, Timestamp,
    Vault,
};
pub use probe::{check_server_url, test_connection, ConnectionOutcome, ConnectionTest, UrlCheck};
pub use secret::{AccessToken, MasterKey, RecoveryKey, UserSecret, MAX_TOKEN_BYTES};
pub use server_url::{guess_protocol, normalize_server_url};
pub use usage::{CredentialUse, UsageRecorder};
