//! Team vaults' credentials on a signed-in team server
//! (docs/architecture.md, "Team vaults"): read one (checked against the
//! server address it is for), write one with check-and-set and a record
//! of who changed it, delete one, and what the sign-in may do in a vault.
//!
//! Who made a change is the token's owner as `lookup-self` names it,
//! written to the secret's `custom_metadata` (`keybearer_changed_by`,
//! `keybearer_changed_by_entity`, `keybearer_changed_version`,
//! `keybearer_changed_at`, `keybearer_change`) right after the data. A
//! member whose policy allows only `read` is told so before anything is
//! written (`sys/capabilities-self`).
//!
//! Limits: the data and its custom metadata are two requests (KV v2 has
//! no single one for both); custom metadata belongs to the secret, not to
//! a version, so it names the last change made from Keybearer, and says
//! which version that was.

use std::collections::HashMap;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::{Protocol, Timestamp};
use keybearer_base::server_url::{guess_protocol, normalize_server_url};
use keybearer_base::team_error::TeamError;

use crate::kv::{Meta, Read};
use crate::secret::TeamSecret;
use crate::server::TeamServer;
use crate::settings::{credential_key, TeamVault};

/// A credential read from a team vault.
#[derive(Debug)]
pub struct TeamCredential {
    pub url: String,
    pub protocol: Protocol,
    /// The KV version it was read at (what a change must name).
    pub version: u64,
    /// When that version was written (RFC 3339, as the server said it).
    pub written_at: String,
    pub secret: TeamSecret,
}

/// The last change made to a credential from Keybearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastChange {
    /// The token owner's name (`userpass-alice`).
    pub by: String,
    pub entity_id: Option<String>,
    pub version: Option<u64>,
    /// `write` or `delete`.
    pub change: String,
    pub at: Option<String>,
}

/// What the sign-in may do in a team vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
}

/// A secret's current version when it was looked at: what check-and-set
/// compares with (0: nothing there).
fn cas_of(meta: &Meta) -> u64 {
    match meta {
        Meta::Current { version, .. } => *version,
        Meta::Missing => 0,
    }
}

impl TeamServer {
    /// The path of `url`'s credential in `vault` (inside the mount).
    pub fn credential_path(&self, vault: &TeamVault, url: &str) -> Result<String> {
        let url = normalize_server_url(url)?;
        Ok(format!(
            "{}/{}",
            self.settings().vault_path(vault),
            credential_key(&url)
        ))
    }

    /// `url`'s credential in `vault`; `None` when the vault holds none for
    /// it. A vault with nothing at all on the server is
    /// [`TeamError::VaultNotFound`].
    pub fn credential(&self, vault: &TeamVault, url: &str) -> Result<Option<TeamCredential>> {
        let url = normalize_server_url(url)?;
        match self.read_credential(vault, &credential_key(&url), Some(&url))? {
            Some(found) => Ok(Some(found)),
            None => {
                let folder = self.settings().vault_path(vault);
                match self.kv_list(&folder)? {
                    Some(_) => Ok(None),
                    None => Err(Error::Team(TeamError::VaultNotFound {
                        server: self.address().to_string(),
                        path: format!("{}/", self.shown_path(&folder)),
                    })),
                }
            }
        }
    }

    /// The credential stored as `key` in `vault` (a name from the folder's
    /// list); `None` if it is gone.
    pub(crate) fn credential_at(
        &self,
        vault: &TeamVault,
        key: &str,
    ) -> Result<Option<TeamCredential>> {
        self.read_credential(vault, key, None)
    }

    /// Reads the secret `key` of `vault`. Its `url` must be the one its
    /// name was made from (and `expected`, when given): a secret for
    /// another server must never be sent to this one.
    fn read_credential(
        &self,
        vault: &TeamVault,
        key: &str,
        expected: Option<&str>,
    ) -> Result<Option<TeamCredential>> {
        let path = format!("{}/{key}", self.settings().vault_path(vault));
        let Read::Found {
            mut fields,
            version,
            created,
        } = self.kv_read(&path)?
        else {
            return Ok(None);
        };
        let bad = |problem: String| {
            Error::Team(TeamError::BadAnswer {
                server: self.address().to_string(),
                problem: format!("{} holds {problem}", self.shown_path(&path)),
            })
        };
        let stored = fields
            .url
            .as_deref()
            .and_then(|stored| normalize_server_url(stored).ok());
        let url = match stored {
            Some(url) if credential_key(&url) == key && expected.is_none_or(|e| e == url) => url,
            _ => return Err(bad("a credential for another server address".into())),
        };
        let protocol = match fields.protocol.as_deref() {
            Some(protocol) => protocol.parse().unwrap_or_else(|_| guess_protocol(&url)),
            None => guess_protocol(&url),
        };
        let secret = TeamSecret::from_fields(&mut fields).map_err(bad)?;
        Ok(Some(TeamCredential {
            url,
            protocol,
            version,
            written_at: created,
            secret,
        }))
    }

    /// Writes `url`'s credential in `vault`. `expected_version` is the
    /// version the change was made from (0 for a new credential); if the
    /// secret has moved on since, nothing is written
    /// ([`TeamError::Conflict`]). Returns the new version.
    pub fn put_credential(
        &self,
        vault: &TeamVault,
        url: &str,
        secret: &TeamSecret,
        expected_version: u64,
    ) -> Result<u64> {
        self.put_credential_with(vault, url, None, secret, expected_version)
    }

    /// [`TeamServer::put_credential`] with the server's protocol (`None`:
    /// the URL's usual shape).
    pub fn put_credential_with(
        &self,
        vault: &TeamVault,
        url: &str,
        protocol: Option<Protocol>,
        secret: &TeamSecret,
        expected_version: u64,
    ) -> Result<u64> {
        let url = normalize_server_url(url)?;
        let path = self.credential_path(vault, &url)?;
        self.require_write(vault, &path)?;
        let protocol = protocol.unwrap_or_else(|| guess_protocol(&url));
        let version = self.kv_write(&path, secret.to_kv_json(&url, protocol), expected_version)?;
        self.record_change(&path, &url, Some(version), "write")?;
        tracing::info!(server = %self.address(), path = %self.shown_path(&path), version, "team credential written");
        Ok(version)
    }

    /// Deletes `url`'s credential in `vault` (its current version; the
    /// history stays on the server).
    pub fn delete_credential(&self, vault: &TeamVault, url: &str) -> Result<()> {
        let url = normalize_server_url(url)?;
        let path = self.credential_path(vault, &url)?;
        self.require_write(vault, &path)?;
        let version = cas_of(&self.kv_metadata(&path)?);
        self.kv_delete(&path)?;
        self.record_change(&path, &url, Some(version), "delete")?;
        tracing::info!(server = %self.address(), path = %self.shown_path(&path), "team credential deleted");
        Ok(())
    }

    /// Whether the sign-in may delete `vault`'s credentials (`delete` on
    /// their data path): what removing a team copy needs.
    pub fn may_delete(&self, vault: &TeamVault) -> Result<bool> {
        let path = format!(
            "{}/{}",
            self.settings().vault_path(vault),
            "keybearer-access-check"
        );
        let data = self.data_api_path(&path);
        let capabilities = self.capabilities(std::slice::from_ref(&data))?;
        Ok(capabilities.get(&data).is_some_and(|granted| {
            !granted.iter().any(|c| c == "deny")
                && granted.iter().any(|c| c == "root" || c == "delete")
        }))
    }

    /// Removes `vault` from the server: every credential's current version
    /// deleted (named in its history as a `delete`, as
    /// [`Self::delete_credential`] does), then the folder's marker. KV v2
    /// keeps the versions: the server's administrators can still restore or
    /// destroy them. Already deleted ones are left as they are, so running
    /// it again after a failure finishes it; a folder already gone is fine.
    /// Returns how many credentials were deleted now.
    pub fn remove_vault(&self, vault: &TeamVault) -> Result<usize> {
        let credentials = match self.credentials(vault) {
            Ok(credentials) => credentials,
            Err(Error::Team(TeamError::VaultNotFound { .. })) => return Ok(0),
            Err(other) => return Err(other),
        };
        let folder = self.settings().vault_path(vault);
        for credential in &credentials {
            let path = self.credential_path(vault, &credential.url)?;
            self.kv_delete(&path)?;
            self.record_change(&path, &credential.url, Some(credential.version), "delete")?;
        }
        self.kv_delete(&format!("{folder}/{}", crate::folder::MARKER))?;
        tracing::info!(server = %self.address(), path = %self.shown_path(&folder), deleted = credentials.len(), "team vault removed from the server");
        Ok(credentials.len())
    }

    /// What the sign-in may do in `vault` (`sys/capabilities-self` on a
    /// credential's data and metadata paths there).
    pub fn access(&self, vault: &TeamVault) -> Result<Access> {
        let path = format!(
            "{}/{}",
            self.settings().vault_path(vault),
            "keybearer-access-check"
        );
        self.access_at(&path)
    }

    fn access_at(&self, path: &str) -> Result<Access> {
        let data = self.data_api_path(path);
        let metadata = self.metadata_api_path(path);
        let capabilities = self.capabilities(&[data.clone(), metadata.clone()])?;
        let has = |path: &str, wanted: &[&str]| {
            capabilities.get(path).is_some_and(|granted| {
                !granted.iter().any(|c| c == "deny")
                    && granted
                        .iter()
                        .any(|c| c == "root" || wanted.contains(&c.as_str()))
            })
        };
        Ok(Access {
            read: has(&data, &["read"]),
            write: has(&data, &["create", "update"]) && has(&metadata, &["create", "update"]),
        })
    }

    /// Whether the sign-in may change `vault`'s credentials: `Ok`, or the
    /// refusal naming the vault's path ([`TeamError::Denied`]), before the
    /// user is asked for a value.
    pub fn check_write(&self, vault: &TeamVault) -> Result<()> {
        let path = format!(
            "{}/{}",
            self.settings().vault_path(vault),
            "keybearer-access-check"
        );
        self.require_write(vault, &path)
    }

    /// A read-only member is told so before anything is written.
    fn require_write(&self, vault: &TeamVault, path: &str) -> Result<()> {
        if self.access_at(path)?.write {
            return Ok(());
        }
        Err(Error::Team(TeamError::Denied {
            server: self.address().to_string(),
            path: format!("{}/", self.shown_path(&self.settings().vault_path(vault))),
            action: "change credentials in",
        }))
    }

    /// Writes who made this change in the secret's custom metadata: the
    /// last change (`keybearer_changed_*`), the address it is for
    /// (`keybearer_url`, so the history needs no value read), and one
    /// record per version written (`keybearer_v<N>`) or deleted
    /// (`keybearer_d<N>`), the newest 40 (`history.rs`).
    fn record_change(
        &self,
        path: &str,
        url: &str,
        version: Option<u64>,
        change: &str,
    ) -> Result<()> {
        let who = self.who();
        let at = Timestamp::now().to_rfc3339();
        let mut custom = match self.kv_metadata(path)? {
            Meta::Current { custom, .. } => custom,
            Meta::Missing => HashMap::new(),
        };
        custom.insert("keybearer_changed_by".to_string(), who.display_name.clone());
        match &who.entity_id {
            Some(entity) => {
                custom.insert("keybearer_changed_by_entity".to_string(), entity.clone())
            }
            None => custom.remove("keybearer_changed_by_entity"),
        };
        match version {
            Some(version) => {
                custom.insert("keybearer_changed_version".to_string(), version.to_string());
                custom.insert(
                    crate::history::record_key(change, version),
                    crate::history::version_record(&at, &who),
                );
            }
            None => {
                custom.remove("keybearer_changed_version");
            }
        }
        custom.insert("keybearer_change".to_string(), change.to_string());
        custom.insert("keybearer_changed_at".to_string(), at);
        custom.insert("keybearer_url".to_string(), url.to_string());
        crate::history::prune(&mut custom);
        self.kv_write_custom(path, &custom)
    }

    /// The last change made to `url`'s credential from Keybearer, if any.
    pub fn last_change(&self, vault: &TeamVault, url: &str) -> Result<Option<LastChange>> {
        let path = self.credential_path(vault, url)?;
        let Meta::Current { mut custom, .. } = self.kv_metadata(&path)? else {
            return Ok(None);
        };
        let Some(by) = custom.remove("keybearer_changed_by") else {
            return Ok(None);
        };
        Ok(Some(LastChange {
            by,
            entity_id: custom.remove("keybearer_changed_by_entity"),
            version: custom
                .remove("keybearer_changed_version")
                .and_then(|v| v.parse().ok()),
            change: custom.remove("keybearer_change").unwrap_or_default(),
            at: custom.remove("keybearer_changed_at"),
        }))
    }
}
