//! Keybearer's engine: an encrypted credential store for MCP servers' tokens,
//! keyed by a master key in the OS keychain, with recovery, environments, an
//! audit trail, Test connection, and the local credential source the proxy
//! and the bridge ask (`local_source.rs`). No Tauri here: the CLI and the
//! desktop shell sit on it, beside the apps and session crates.
//!
//! Owns: keys, the store and its migrations, the catalog of vaults and
//! credentials, tokens and their refresh, audit and usage, backup files. Must never depend
//! on the proxy, the bridge, sessions or apps (they build on it), nor on
//! Tauri. The map of the crates and who may call whom is
//! docs/architecture.md ("Crates").

// The vocabulary below this crate (`keybearer-base`), under the names the
// modules here use (`crate::error::Error`, `crate::model::Vault`…).
use keybearer_base::{backup_error, error, model, reach, secret, server_url, text};
use keybearer_net::upstream;
/// OAuth for MCP servers (the `keybearer-oauth` crate).
pub use keybearer_oauth as oauth;

mod audit;
mod backup;
mod catalog;
mod connections;
mod credential_secret;
#[cfg(test)]
mod credential_secret_properties;
mod crypto;
mod engine;
mod keychain;
mod keys;
mod known_servers;
mod local_source;
pub mod logging;
mod probe;
mod recovery_key;
mod refresh;
mod resolve;
mod store;
mod team_catalog;
mod tokens;
mod usage;

pub use app_configs::{App, Locations, Os};
pub use audit::{Audit, EventKind};
pub use backup::{
    BackupContents, BackupMade, BackupSeal, BackupVault, Backups, OpenedBackup, RestoreOptions,
    RestoreReport, SealKind, SealedBackup, SkippedConnection, SkippedVault,
};
pub use catalog::{revoke_grant, Catalog, CredentialCheck, TeamCopyLeft};
pub use connections::Connections;
pub use credential_secret::{CredentialSecret, NewCredential, SecretHeader, MAX_HEADERS};
pub use engine::{default_data_dir, Engine, KeychainStatus, Status};
pub use error::{Error, ErrorCode, Result};
pub use keybearer_base::backup_error::BackupError;
pub use keybearer_base::team_model::{NewTeamServer, TeamServerRecord, VaultTeam};
pub use keybearer_platform::harden_process;
/// The catalog of known remote MCP servers (the `keybearer-server-catalog` crate).
pub use keybearer_server_catalog as server_catalog;
pub use keybearer_source::{CredentialSource, Scope, UsageSink};
pub use keychain::{find_session_bus, KeyStore, KeychainError, OsKeychain};
pub use keys::{KeyProtection, Keys, PendingKey, SetupProtection};
pub use known_servers::{
    ask_the_server, check_registry_address, pinned_endpoints, AskedServer, KnownServers, Refresh,
    RefreshKind, RefreshReport, Refresher, SignInWay, SkippedServer, DEFAULT_REGISTRY,
};
pub use model::{
    AppConnection, Credential, CredentialType, Environment, Event, Protocol, Resolution, Timestamp,
    Vault,
};
pub use probe::{
    check_server_url, find_transport, test_connection, ConnectionOutcome, ConnectionTest,
    FoundTransport, UrlCheck,
};
pub use resolve::Resolver;
pub use secret::{AccessToken, MasterKey, RecoveryKey, UserSecret, MAX_TOKEN_BYTES};
pub use server_url::{guess_protocol, normalize_server_url};
pub use team_catalog::{OpenedLastGood, TeamCatalog, TeamLastGood};
pub use text::printable;
pub use tokens::{InjectableToken, Injection, Tokens};
pub use usage::{CredentialUse, UsageRecorder, UseKind};

/// For the crates beside the engine (`keybearer-apps`, sessions), which keep
/// tables of their own in the same database: the few engine internals they
/// build on (docs/architecture.md, "Crates"). Nothing else may use these.
pub mod beside {
    pub use crate::catalog::insert_credential;

    /// The master key, to seal credentials with [`insert_credential`] in a
    /// transaction of the caller's (an all-or-nothing import).
    pub fn master_key(engine: &mut crate::Engine) -> crate::Result<crate::MasterKey> {
        engine.master_key()
    }
    pub use crate::connections::{
        change_in as change_connection_in, create_in as create_connection_in,
    };
    pub use crate::store::vaults::touch as touch_vault;
    pub use crate::store::{events, Store};
}
