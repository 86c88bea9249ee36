//! KV version 2 on a team server (docs/architecture.md, "Team vaults"):
//! read a secret with its version, read its metadata (the current version,
//! deleted or destroyed), list a folder, write with check-and-set, write
//! the custom metadata, delete the current version.
//!
//! Paths given here are inside the mount (`keybearer/production/github/…`);
//! errors name them as `bao kv` would show them, `<mount>/<path>`. A
//! secret's data is parsed straight into wiped fields ([`Fields`]).

use std::collections::HashMap;

use http::Method;
use keybearer_base::error::{Error, Result};
use keybearer_base::team_error::TeamError;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::server::TeamServer;

/// A credential's fields as stored in its secret. Unknown fields are
/// ignored (an administrator may add a note).
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Fields {
    pub url: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub protocol: Option<String>,
    pub token: Option<String>,
    pub headers: Option<Vec<Vec<String>>>,
}

/// What a read found.
pub(crate) enum Read {
    /// The current version, with its data and when it was written.
    Found {
        fields: Box<Fields>,
        version: u64,
        created: String,
    },
    /// Nothing at the path, or its current version was deleted or destroyed.
    Missing,
}

/// What the metadata says of a secret.
pub(crate) enum Meta {
    Current {
        version: u64,
        /// Deleted or destroyed: no data to read.
        gone: bool,
        custom: HashMap<String, String>,
    },
    Missing,
}

#[derive(Deserialize)]
struct ReadBody {
    data: Option<ReadData>,
}

#[derive(Deserialize)]
struct ReadData {
    data: Option<Fields>,
    metadata: Option<VersionMeta>,
}

#[derive(Deserialize)]
struct VersionMeta {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    created_time: String,
}

#[derive(Deserialize)]
struct MetaBody {
    data: MetaData,
}

#[derive(Deserialize)]
struct MetaData {
    #[serde(default)]
    current_version: u64,
    #[serde(default)]
    versions: HashMap<String, VersionState>,
    #[serde(default)]
    custom_metadata: Option<HashMap<String, String>>,
}

#[derive(Deserialize)]
struct VersionState {
    #[serde(default)]
    created_time: String,
    #[serde(default)]
    deletion_time: String,
    #[serde(default)]
    destroyed: bool,
}

/// Every version of a secret, oldest first, and its custom metadata.
pub(crate) type Versions = (Vec<VersionInfo>, HashMap<String, String>);

/// One version of a secret, as its metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionInfo {
    pub version: u64,
    /// RFC 3339, as the server wrote it.
    pub created: String,
    pub deleted: Option<String>,
    pub destroyed: bool,
}

#[derive(Deserialize)]
struct ListBody {
    data: ListData,
}

#[derive(Deserialize)]
struct ListData {
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Deserialize)]
struct WriteBody {
    data: VersionMeta,
}

impl TeamServer {
    fn shown(&self, path: &str) -> String {
        format!("{}/{path}", self.settings().mount())
    }

    fn api(&self, kind: &str, path: &str) -> String {
        format!("{}/{kind}/{path}", self.settings().mount())
    }

    fn bad(&self, problem: String) -> Error {
        Error::Team(TeamError::BadAnswer {
            server: self.address().to_string(),
            problem,
        })
    }

    /// `GET <mount>/data/<path>`: the current version and its data.
    pub(crate) fn kv_read(&self, path: &str) -> Result<Read> {
        let reply = self.call(
            Method::GET,
            &self.api("data", path),
            None,
            "read",
            &self.shown(path),
        )?;
        match reply.status {
            200 => {
                let body: ReadBody = reply.json(self.address())?;
                let data = body
                    .data
                    .ok_or_else(|| self.bad(format!("no data at {}", self.shown(path))))?;
                let (version, created) = data
                    .metadata
                    .map_or((0, String::new()), |meta| (meta.version, meta.created_time));
                match data.data {
                    Some(fields) => Ok(Read::Found {
                        fields: Box::new(fields),
                        version,
                        created,
                    }),
                    None => Ok(Read::Missing),
                }
            }
            404 => Ok(Read::Missing),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `GET <mount>/metadata/<path>`: the current version and whether it
    /// was deleted, without the data.
    pub(crate) fn kv_metadata(&self, path: &str) -> Result<Meta> {
        let reply = self.call(
            Method::GET,
            &self.api("metadata", path),
            None,
            "read",
            &self.shown(path),
        )?;
        match reply.status {
            200 => {
                let body: MetaBody = reply.json(self.address())?;
                let version = body.data.current_version;
                let gone = body
                    .data
                    .versions
                    .get(&version.to_string())
                    .is_none_or(|state| state.destroyed || !state.deletion_time.is_empty());
                Ok(Meta::Current {
                    version,
                    gone,
                    custom: body.data.custom_metadata.unwrap_or_default(),
                })
            }
            404 => Ok(Meta::Missing),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `GET <mount>/metadata/<path>`: every version the server keeps, oldest
    /// first, and the custom metadata; `None` when there is no such secret.
    pub(crate) fn kv_versions(&self, path: &str) -> Result<Option<Versions>> {
        let reply = self.call(
            Method::GET,
            &self.api("metadata", path),
            None,
            "read",
            &self.shown(path),
        )?;
        match reply.status {
            200 => {
                let body: MetaBody = reply.json(self.address())?;
                let mut versions: Vec<VersionInfo> = body
                    .data
                    .versions
                    .into_iter()
                    .filter_map(|(number, state)| {
                        Some(VersionInfo {
                            version: number.parse().ok()?,
                            created: state.created_time,
                            deleted: (!state.deletion_time.is_empty())
                                .then_some(state.deletion_time),
                            destroyed: state.destroyed,
                        })
                    })
                    .collect();
                versions.sort_by_key(|version| version.version);
                Ok(Some((
                    versions,
                    body.data.custom_metadata.unwrap_or_default(),
                )))
            }
            404 => Ok(None),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `LIST <mount>/metadata/<folder>/`: the names in a folder; `None`
    /// when there is no such folder.
    pub(crate) fn kv_list(&self, folder: &str) -> Result<Option<Vec<String>>> {
        let reply = self.call(
            Method::GET,
            &format!("{}/?list=true", self.api("metadata", folder)),
            None,
            "list",
            &format!("{}/", self.shown(folder)),
        )?;
        match reply.status {
            200 => Ok(Some(reply.json::<ListBody>(self.address())?.data.keys)),
            404 => Ok(None),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `POST <mount>/data/<path>` with check-and-set: `cas` 0 writes only
    /// where nothing is, `n` only over version `n`; the new version.
    pub(crate) fn kv_write(&self, path: &str, data: Zeroizing<Vec<u8>>, cas: u64) -> Result<u64> {
        let mut body = Zeroizing::new(Vec::with_capacity(data.len() + 40));
        body.extend_from_slice(format!("{{\"options\":{{\"cas\":{cas}}},\"data\":").as_bytes());
        body.extend_from_slice(&data);
        body.push(b'}');
        let shown = self.shown(path);
        let reply = self.call(
            Method::POST,
            &self.api("data", path),
            Some(body),
            "change",
            &shown,
        )?;
        match reply.status {
            200 => Ok(reply.json::<WriteBody>(self.address())?.data.version),
            // OpenBao and Vault answer a failed check-and-set with a 400.
            400 => Err(Error::Team(TeamError::Conflict {
                server: self.address().to_string(),
                path: shown,
            })),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `POST <mount>/metadata/<path>` setting `custom_metadata` (replacing
    /// what was there).
    pub(crate) fn kv_write_custom(
        &self,
        path: &str,
        custom: &HashMap<String, String>,
    ) -> Result<()> {
        let body = serde_json::to_vec(&serde_json::json!({ "custom_metadata": custom }))
            .map_err(|_| self.bad("metadata Keybearer could not send".into()))?;
        let reply = self.call(
            Method::POST,
            &self.api("metadata", path),
            Some(Zeroizing::new(body)),
            "change",
            &self.shown(path),
        )?;
        match reply.status {
            200 | 204 => Ok(()),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// `DELETE <mount>/data/<path>`: the current version is deleted (kept
    /// in the history, as KV v2 does); nothing there is fine.
    pub(crate) fn kv_delete(&self, path: &str) -> Result<()> {
        let reply = self.call(
            Method::DELETE,
            &self.api("data", path),
            None,
            "delete",
            &self.shown(path),
        )?;
        match reply.status {
            200 | 204 | 404 => Ok(()),
            status => Err(unexpected_at(self, status)),
        }
    }

    /// The API path of `path`'s data, as `sys/capabilities-self` takes it.
    pub(crate) fn data_api_path(&self, path: &str) -> String {
        self.api("data", path)
    }

    pub(crate) fn metadata_api_path(&self, path: &str) -> String {
        self.api("metadata", path)
    }

    pub(crate) fn shown_path(&self, path: &str) -> String {
        self.shown(path)
    }
}

fn unexpected_at(server: &TeamServer, status: u16) -> Error {
    match unexpected_status(server.address(), status) {
        Some(error) => error,
        None => server.bad(format!("HTTP {status}")),
    }
}

/// 5xx answers of a sealed, starting or overloaded server: out of reach
/// for now, like a server that does not answer.
fn unexpected_status(server: &str, status: u16) -> Option<Error> {
    (500..600).contains(&status).then(|| {
        Error::Team(TeamError::Unreachable {
            server: server.to_string(),
            cause: format!("HTTP {status}: the server is sealed, starting or not well"),
        })
    })
}
