//! Team servers and team vaults as this computer knows them
//! (docs/architecture.md, "Team vaults"): what the CLI prints, the window
//! shows and the wiring builds a team server's settings from. No type here
//! can hold a sign-in or a credential's value.

use serde::Serialize;

use crate::model::Timestamp;

/// Where a team vault lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct VaultTeam {
    /// The team server (`tsv_…`).
    pub server_id: String,
    /// The name the user gave the team server.
    pub server_name: String,
    /// Its address (`https://bao.example.com:8200`).
    pub server_address: String,
    /// The vault's folder on the server (one name: `github`).
    pub folder: String,
}

/// A team server the user added (OpenBao or HashiCorp Vault).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TeamServerRecord {
    /// `tsv_…`: also names its sign-in in the OS keychain.
    pub id: String,
    pub name: String,
    pub address: String,
    /// The KV version 2 mount its team vaults are in.
    pub mount: String,
    /// Where each environment's vaults are, `{environment}` standing for
    /// the environment's name (default `keybearer/{environment}/`).
    pub path_template: String,
    /// The SHA-256 fingerprints of the CA certificates trusted for this
    /// server only (none: the system's roots).
    pub ca_fingerprints: Vec<String>,
    /// How often a credential in use is checked for a newer version.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub check_interval_secs: u64,
    /// How long the last value the server confirmed may be used while it
    /// is out of reach.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub last_good_secs: u64,
    pub created_at: Timestamp,
    /// How many vaults of this computer live on it.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vault_count: i64,
    /// Since when it has not answered: the first failure to reach it that
    /// no answer followed, recorded by whichever process of this computer
    /// met it (the window, a session, a bridge); `None`: it answered last.
    pub unreachable_since: Option<Timestamp>,
    /// The CA certificates (PEM) trusted for this server only: public,
    /// never sent to the window (the fingerprints say which).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TeamServerRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamServerRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// A team server to add, checked by the wiring before it is stored.
#[derive(Debug, Clone)]
pub struct NewTeamServer {
    pub name: String,
    pub address: String,
    pub mount: String,
    pub path_template: String,
    pub ca_pem: Option<Vec<u8>>,
    pub ca_fingerprints: Vec<String>,
    pub check_interval_secs: u64,
    pub last_good_secs: u64,
}
