//! Who changed which credential of a team vault, and when
//! (docs/architecture.md, "Team vaults"): KV v2 keeps every version's
//! creation and deletion time; Keybearer adds, in each secret's custom
//! metadata, who made each change it made (`keybearer_v<N>`: version N
//! written; `keybearer_d<N>`: version N deleted; a small JSON object with
//! the token owner's name, entity and time) and the address the secret is
//! for (`keybearer_url`), so the history is read from metadata only —
//! never a value.
//!
//! Limits: custom metadata holds at most 64 keys, so the records of the
//! newest 40 changes are kept; a change made outside Keybearer (`bao kv
//! put`, the server's UI) has its time from the server but no name
//! ("not recorded"); the server's own audit device is the complete record.

use std::collections::HashMap;

use keybearer_base::error::Result;
use keybearer_base::server_url::normalize_server_url;
use serde::{Deserialize, Serialize};

use crate::auth::Who;
use crate::kv::Read;
use crate::server::TeamServer;
use crate::settings::{credential_key, TeamVault};

const WRITTEN: &str = "keybearer_v";
const DELETED: &str = "keybearer_d";
/// How many change records a secret's custom metadata keeps.
const KEPT: usize = 40;
/// The longest name recorded (custom metadata values are at most 512 bytes).
const MAX_NAME: usize = 200;

/// One change of a team credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The MCP server the credential is for (`None`: Keybearer could not
    /// tell without reading the value, which the history never does).
    pub url: Option<String>,
    /// The secret's name in the vault's folder.
    pub key: String,
    pub version: u64,
    /// `write` or `delete`.
    pub change: String,
    /// RFC 3339, as the server recorded it.
    pub at: String,
    /// Who made it, as the team server named their sign-in; `None` for a
    /// change made outside Keybearer.
    pub by: Option<String>,
    /// The identity entity of that sign-in, when the server has one.
    pub entity_id: Option<String>,
    /// The version was destroyed (its data wiped on the server).
    pub destroyed: bool,
}

/// What every front end says for who made a change made outside Keybearer.
pub const CHANGED_OUTSIDE: &str = "not recorded (changed outside Keybearer)";

impl HistoryEntry {
    /// Who made the change, or [`CHANGED_OUTSIDE`].
    pub fn changed_by(&self) -> String {
        self.by
            .clone()
            .unwrap_or_else(|| CHANGED_OUTSIDE.to_string())
    }
}

#[derive(Serialize, Deserialize)]
struct Record {
    by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity: Option<String>,
    at: String,
}

/// The custom metadata key of a change: `keybearer_v3`, `keybearer_d3`.
pub(crate) fn record_key(change: &str, version: u64) -> String {
    let prefix = if change == "delete" { DELETED } else { WRITTEN };
    format!("{prefix}{version}")
}

/// One change's record: who (their name cut to 200 characters) and when.
pub(crate) fn version_record(at: &str, who: &Who) -> String {
    serde_json::to_string(&Record {
        by: who.display_name.chars().take(MAX_NAME).collect(),
        entity: who.entity_id.clone(),
        at: at.to_string(),
    })
    .unwrap_or_default()
}

/// Keeps the newest [`KEPT`] change records.
pub(crate) fn prune(custom: &mut HashMap<String, String>) {
    let mut records: Vec<(u64, bool, String)> = custom
        .keys()
        .filter_map(|key| {
            let (number, deleted) = match (key.strip_prefix(WRITTEN), key.strip_prefix(DELETED)) {
                (Some(number), _) => (number, false),
                (_, Some(number)) => (number, true),
                _ => return None,
            };
            Some((number.parse().ok()?, deleted, key.clone()))
        })
        .collect();
    if records.len() <= KEPT {
        return;
    }
    records.sort();
    let surplus = records.len() - KEPT;
    for (_, _, key) in records.into_iter().take(surplus) {
        custom.remove(&key);
    }
}

impl TeamServer {
    /// Every change the server keeps of `vault`'s credentials (or of the one
    /// for `url`), newest first. Reads metadata only (and, for a secret
    /// written outside Keybearer, its address from its data).
    pub fn history(&self, vault: &TeamVault, url: Option<&str>) -> Result<Vec<HistoryEntry>> {
        let folder = self.settings().vault_path(vault);
        let keys = match url {
            Some(url) => vec![credential_key(&normalize_server_url(url)?)],
            None => self
                .kv_list(&folder)?
                .unwrap_or_default()
                .into_iter()
                .filter(|key| !key.ends_with('/') && !key.starts_with('_'))
                .collect(),
        };
        let mut entries = Vec::new();
        for key in keys {
            let path = format!("{folder}/{key}");
            let Some((versions, custom)) = self.kv_versions(&path)? else {
                continue;
            };
            let url = match custom.get("keybearer_url") {
                Some(url) => Some(url.clone()),
                None => match self.kv_read(&path) {
                    Ok(Read::Found { fields, .. }) => fields.url.clone(),
                    _ => None,
                },
            };
            let record = |prefix: &str, version: u64| {
                custom
                    .get(&format!("{prefix}{version}"))
                    .and_then(|json| serde_json::from_str::<Record>(json).ok())
            };
            for version in versions {
                let written = record(WRITTEN, version.version);
                entries.push(HistoryEntry {
                    url: url.clone(),
                    key: key.clone(),
                    version: version.version,
                    change: "write".into(),
                    at: version.created.clone(),
                    by: written.as_ref().map(|r| r.by.clone()),
                    entity_id: written.and_then(|r| r.entity),
                    destroyed: version.destroyed,
                });
                if let Some(deleted_at) = version.deleted {
                    let deleted = record(DELETED, version.version);
                    entries.push(HistoryEntry {
                        url: url.clone(),
                        key: key.clone(),
                        version: version.version,
                        change: "delete".into(),
                        at: deleted_at,
                        by: deleted.as_ref().map(|r| r.by.clone()),
                        entity_id: deleted.and_then(|r| r.entity),
                        destroyed: version.destroyed,
                    });
                }
            }
        }
        // RFC 3339 times of one server sort as text.
        entries.sort_by(|a, b| b.at.cmp(&a.at).then(b.version.cmp(&a.version)));
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_records_are_kept() {
        let mut custom = HashMap::new();
        custom.insert("keybearer_changed_by".to_string(), "x".to_string());
        for version in 1..=45u64 {
            custom.insert(record_key("write", version), "{}".into());
        }
        custom.insert(record_key("delete", 45), "{}".into());
        prune(&mut custom);
        assert!(custom.contains_key("keybearer_changed_by"));
        assert!(!custom.contains_key("keybearer_v6"));
        assert!(custom.contains_key("keybearer_v7"));
        assert!(custom.contains_key("keybearer_d45"));
        assert_eq!(custom.len(), KEPT + 1);
    }

    #[test]
    fn a_record_names_who_and_when_only() {
        let who = Who {
            display_name: "userpass-alice".into(),
            entity_id: Some("e-1".into()),
        };
        let json = version_record("2026-01-01T00:00:00Z", &who);
        assert_eq!(
            json,
            r#"{"by":"userpass-alice","entity":"e-1","at":"2026-01-01T00:00:00Z"}"#
        );
        assert!(json.len() < 512);
    }
}
