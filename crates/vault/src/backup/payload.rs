//! What a backup holds, in the clear only inside this process
//! (docs/architecture.md, "Backups"): the environments, every vault of this
//! computer, every credential with its secret, and the app connections'
//! records. Team vaults are not in it: they live on their team server
//! (connections keep only this computer's vaults; one to team vaults only
//! is left out). Read from
//! the store in one transaction (`collect`); made to JSON in a wiped buffer
//! (`to_json`); read back and checked by the same rules as new data
//! (`from_json`, `check`) before anything is restored.
//!
//! A credential's secret is carried in the form `tokens::seal` seals (a
//! bearer token; headers as a JSON array of `[name, value]`; an OAuth grant
//! with its refresh token and client registration, secret included, as
//! JSON), base64-encoded; the strings holding secrets are wiped when the
//! payload is dropped. Limit: serde's and the vector's own reallocations
//! can leave copies in freed memory (the buffer is sized up front to make
//! that rare).

use std::collections::HashSet;

use data_encoding::BASE64;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::credential_secret::CredentialSecret;
use crate::error::{Error, Result};
use crate::model::{
    validate_colour, validate_environment_name, validate_name, Credential, CredentialType,
    Protocol, Timestamp,
};
use crate::secret::MasterKey;
use crate::server_url::normalize_server_url;
use crate::store::{connections, credentials, environments, meta, vaults};
use crate::tokens;

/// Everything a backup holds. Secrets are wiped when it is dropped.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Payload {
    /// The Keybearer that made it (`keybearer 0.1.0`), for the user.
    #[zeroize(skip)]
    pub made_by: String,
    /// When it was made, milliseconds since 1970.
    #[zeroize(skip)]
    pub made_at: i64,
    #[zeroize(skip)]
    pub active_environment: String,
    #[zeroize(skip)]
    pub environments: Vec<EnvironmentRecord>,
    #[zeroize(skip)]
    pub vaults: Vec<VaultRecord>,
    pub credentials: Vec<CredentialRecord>,
    #[zeroize(skip)]
    pub connections: Vec<ConnectionRecord>,
}

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct EnvironmentRecord {
    pub name: String,
    pub colour: String,
    pub created_at: i64,
}

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct VaultRecord {
    pub id: String,
    pub name: String,
    pub environment: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Serialize, Deserialize, Zeroize)]
pub(crate) struct CredentialRecord {
    #[zeroize(skip)]
    pub id: String,
    #[zeroize(skip)]
    pub vault_id: String,
    #[zeroize(skip)]
    pub url: String,
    #[zeroize(skip)]
    pub protocol: String,
    #[zeroize(skip)]
    pub kind: String,
    #[zeroize(skip)]
    pub needs_sign_in: bool,
    #[zeroize(skip)]
    pub wanted_scope: Option<String>,
    #[zeroize(skip)]
    pub created_at: i64,
    #[zeroize(skip)]
    pub last_used_at: Option<i64>,
    /// The sealable form of its secret, base64.
    pub secret: String,
}

impl std::fmt::Debug for CredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRecord")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize, Clone)]
pub(crate) struct ConnectionRecord {
    pub id: String,
    pub app: String,
    pub environment: String,
    /// The app's settings file on the computer the backup was made on.
    pub config_path: String,
    pub vault_ids: Vec<String>,
    pub created_at: i64,
}

/// Reads everything and opens every credential's secret, inside the
/// caller's read transaction (one snapshot). A secret that does not open stops
/// the backup: a file that silently misses a credential is worse than none.
pub(crate) fn collect(conn: &Connection, master: &MasterKey) -> Result<Payload> {
    let environments = environments::list(conn)?
        .into_iter()
        .map(|e| EnvironmentRecord {
            name: e.name,
            colour: e.colour,
            created_at: e.created_at.0,
        })
        .collect();
    // Team vaults live on their team server, not here: a backup holds this
    // computer's vaults only (the new computer signs in to the server).
    let all_vaults: Vec<_> = vaults::list(conn, None)?
        .into_iter()
        .filter(|v| v.team.is_none())
        .collect();
    let local: HashSet<String> = all_vaults.iter().map(|v| v.id.clone()).collect();
    let mut records = Vec::new();
    for vault in &all_vaults {
        for credential in credentials::list(conn, &vault.id)? {
            let (_, secret) = tokens::open_stored(conn, master, &credential.id)?;
            records.push(CredentialRecord {
                secret: BASE64.encode(&secret.to_sealable()),
                id: credential.id,
                vault_id: credential.vault_id,
                url: credential.mcp_server_url,
                protocol: credential.protocol.as_str().to_string(),
                kind: credential.credential_type.as_str().to_string(),
                needs_sign_in: credential.needs_sign_in,
                wanted_scope: credential.wanted_scope,
                created_at: credential.created_at.0,
                last_used_at: credential.last_used_at.map(|t| t.0),
            });
        }
    }
    // An app connection keeps its local vaults; one to team vaults only
    // is left out (connect the app again once signed in to the server).
    let connections = connections::list(conn)?
        .into_iter()
        .filter_map(|c| {
            let vault_ids: Vec<String> = c
                .vault_ids
                .into_iter()
                .filter(|id| local.contains(id))
                .collect();
            (!vault_ids.is_empty()).then_some(ConnectionRecord {
                id: c.id,
                app: c.app,
                environment: c.environment,
                config_path: c.config_path,
                vault_ids,
                created_at: c.created_at.0,
            })
        })
        .collect();
    Ok(Payload {
        made_by: format!("keybearer {}", env!("CARGO_PKG_VERSION")),
        made_at: Timestamp::now().0,
        active_environment: meta::get_text(conn, meta::ACTIVE_ENVIRONMENT)?
            .unwrap_or_else(|| "development".to_string()),
        environments,
        vaults: all_vaults
            .into_iter()
            .map(|v| VaultRecord {
                id: v.id,
                name: v.display_name,
                environment: v.environment,
                created_at: v.created_at.0,
                updated_at: v.updated_at.0,
            })
            .collect(),
        credentials: records,
        connections,
    })
}

impl Payload {
    /// The JSON the file seals, in a wiped buffer.
    pub(crate) fn to_json(&self) -> Result<Zeroizing<Vec<u8>>> {
        let secrets: usize = self.credentials.iter().map(|c| c.secret.len()).sum();
        let rows = self.vaults.len() + self.credentials.len() + self.connections.len();
        let mut json = Zeroizing::new(Vec::with_capacity(2 * (secrets + 512 * rows) + 4096));
        serde_json::to_writer(&mut *json, self)
            .map_err(|error| Error::Io(std::io::Error::other(error)))?;
        Ok(json)
    }

    /// Reads back what [`Payload::to_json`] made and checks it.
    pub(crate) fn from_json(json: &[u8]) -> Result<Self> {
        let payload: Self = serde_json::from_slice(json)
            .map_err(|_| unusable("contents in a form", "not the one Keybearer writes"))?;
        payload.check()?;
        Ok(payload)
    }

    /// The same rules as new data: names, colours, ids, addresses, each
    /// secret of its kind, references between vaults, credentials and
    /// connections. The file is authenticated, so this guards against a
    /// Keybearer that wrote something this one does not accept.
    fn check(&self) -> Result<()> {
        let mut environments = HashSet::new();
        for environment in &self.environments {
            let bad = |_| unusable("an environment", "with a name or colour it does not accept");
            let name = validate_environment_name(&environment.name).map_err(bad)?;
            validate_colour(&environment.colour).map_err(bad)?;
            environments.insert(name);
        }
        if !environments.contains(self.active_environment.as_str()) {
            return Err(unusable("the environment in use", "that it does not list"));
        }
        let mut vault_ids = HashSet::new();
        let mut names = HashSet::new();
        for vault in &self.vaults {
            check_id(&vault.id, "vlt_")?;
            validate_name("display_name", &vault.name)
                .map_err(|_| unusable("a vault", "with a name it does not accept"))?;
            if !environments.contains(&vault.environment) {
                return Err(unusable("a vault", "of an environment it does not list"));
            }
            if !vault_ids.insert(vault.id.as_str())
                || !names.insert((vault.environment.as_str(), vault.name.to_ascii_lowercase()))
            {
                return Err(unusable("a vault", "listed twice"));
            }
        }
        let mut credential_ids = HashSet::new();
        let mut addresses = HashSet::new();
        for credential in &self.credentials {
            check_id(&credential.id, "cred_")?;
            if !vault_ids.contains(credential.vault_id.as_str()) {
                return Err(unusable("a credential", "of a vault it does not list"));
            }
            if normalize_server_url(&credential.url).ok().as_deref() != Some(&credential.url) {
                return Err(unusable("a credential", "with an address it cannot use"));
            }
            credential.protocol()?;
            credential.secret()?;
            if !credential_ids.insert(credential.id.as_str())
                || !addresses.insert((credential.vault_id.as_str(), credential.url.as_str()))
            {
                return Err(unusable("a credential", "listed twice"));
            }
        }
        for connection in &self.connections {
            check_id(&connection.id, "con_")?;
            if !environments.contains(&connection.environment) {
                return Err(unusable(
                    "an app connection",
                    "of an environment it does not list",
                ));
            }
            let of_its_environment = connection.vault_ids.iter().all(|id| {
                self.vaults
                    .iter()
                    .any(|v| &v.id == id && v.environment == connection.environment)
            });
            if !of_its_environment {
                return Err(unusable("an app connection", "to vaults it does not list"));
            }
        }
        Ok(())
    }
}

impl CredentialRecord {
    pub(crate) fn kind(&self) -> Result<CredentialType> {
        match self.kind.as_str() {
            "static_bearer" => Ok(CredentialType::StaticBearer),
            "headers" => Ok(CredentialType::Headers),
            "mcp_oauth" => Ok(CredentialType::McpOauth),
            _ => Err(unusable("a credential", "of a kind it does not know")),
        }
    }

    pub(crate) fn protocol(&self) -> Result<Protocol> {
        match self.protocol.as_str() {
            "sse" => Ok(Protocol::Sse),
            "streamable_http" => Ok(Protocol::StreamableHttp),
            _ => Err(unusable("a credential", "of a protocol it does not know")),
        }
    }

    /// The secret, checked as its kind (a token's rules, headers' rules, a
    /// grant that parses).
    pub(crate) fn secret(&self) -> Result<CredentialSecret> {
        let plain = Zeroizing::new(
            BASE64
                .decode(self.secret.as_bytes())
                .map_err(|_| unusable("a credential", "whose secret is not readable"))?,
        );
        CredentialSecret::from_opened(self.kind()?, &plain)
            .ok_or_else(|| unusable("a credential", "whose secret is not of its kind"))
    }

    /// The row it becomes in `vault_id` (an id clash gives it `id`).
    pub(crate) fn credential(&self, id: String, secret: &CredentialSecret) -> Result<Credential> {
        Ok(Credential {
            id,
            vault_id: self.vault_id.clone(),
            mcp_server_url: self.url.clone(),
            protocol: self.protocol()?,
            credential_type: secret.kind(),
            header_names: secret.header_names(),
            needs_sign_in: self.needs_sign_in,
            wanted_scope: self.wanted_scope.clone(),
            created_at: Timestamp(self.created_at),
            last_used_at: self.last_used_at.map(Timestamp),
        })
    }
}

/// An id Keybearer made: its prefix, then letters and digits.
fn check_id(id: &str, prefix: &str) -> Result<()> {
    let rest = id.strip_prefix(prefix).unwrap_or_default();
    if rest.is_empty() || rest.len() > 64 || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(unusable("an id", "that Keybearer does not make"));
    }
    Ok(())
}

/// The backup opened (so it is the user's own file) but holds something
/// this Keybearer does not accept; the message names what, never a value.
fn unusable(what: &str, why: &str) -> Error {
    Error::invalid(
        "backup",
        format!("The backup holds {what} {why}, so this Keybearer cannot restore it. Install the newest Keybearer and try again. Nothing was changed."),
    )
}
