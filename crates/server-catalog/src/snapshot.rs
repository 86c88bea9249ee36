//! What one refresh of the MCP Registry leaves for the next run (the cache's
//! content): the usable servers of the registry's answer, each trimmed to
//! the fields the reader reads, in the registry's own `servers[]` shape.
//! A cached copy is read back through the same reader and checks as a fresh
//! answer ([`Snapshot::read`]), so a cache file changed by anyone is held to
//! the same rules.
//!
//! Flow: after a full refresh, [`Snapshot::from_collection`]; after an
//! update (a list asked with `updated_since`), [`Snapshot::updated`]:
//! servers the update marks deleted or lists in a form that is no longer
//! usable are dropped, changed ones replaced where they were, new ones added
//! at the end. The caller serialises the snapshot (a JSON array of servers)
//! into its cache file and gives that array back to [`Snapshot::read`].
//!
//! Limits: at most [`MAX_TOTAL_ENTRIES`] servers are kept (an update's new
//! servers beyond that are left out); no I/O here.

use std::collections::HashSet;

use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::model::Entry;
use crate::registry::{read_servers, RegistryCollection, Skip, MAX_TOTAL_ENTRIES};

/// The registry's usable servers, as the cache keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// (lowercase registry name, trimmed server), in the registry's order.
    servers: Vec<(String, serde_json::Value)>,
}

/// A cached copy, read: the snapshot and its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    pub snapshot: Snapshot,
    /// Usable entries, in the registry's order (for [`crate::Catalog::merged`]).
    pub entries: Vec<Entry>,
    /// Cached servers that no longer pass the checks.
    pub skipped: Vec<Skip>,
}

/// Serialises as the registry's `servers[]`: a JSON array of
/// `{ "server": { … } }` objects.
impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.servers.len()))?;
        for (_, server) in &self.servers {
            seq.serialize_element(server)?;
        }
        seq.end()
    }
}

impl Snapshot {
    /// The servers a full refresh gathered.
    pub fn from_collection(collection: &RegistryCollection) -> Self {
        Self {
            servers: collection
                .kept()
                .map(|(name, server)| (name.to_owned(), server.clone()))
                .collect(),
        }
    }

    /// This snapshot with an update applied (see the module's flow).
    pub fn updated(&self, changes: &RegistryCollection) -> Self {
        let dropped: HashSet<String> = changes.dropped().map(str::to_ascii_lowercase).collect();
        let mut changed: Vec<(String, serde_json::Value)> = changes
            .kept()
            .map(|(name, server)| (name.to_owned(), server.clone()))
            .collect();
        let mut servers = Vec::with_capacity(self.servers.len() + changed.len());
        for (name, server) in &self.servers {
            if let Some(position) = changed.iter().position(|(known, _)| known == name) {
                servers.push(changed.remove(position));
            } else if !dropped.contains(name) {
                servers.push((name.clone(), server.clone()));
            }
        }
        servers.extend(changed);
        servers.truncate(MAX_TOTAL_ENTRIES);
        Self { servers }
    }

    /// Reads a cached copy (the array [`Snapshot`] serialises to), with the
    /// same checks as a fresh answer.
    pub fn read(servers: Vec<serde_json::Value>) -> Loaded {
        let page = read_servers(servers, MAX_TOTAL_ENTRIES);
        let mut collection = RegistryCollection::new();
        collection.add(page);
        let snapshot = Self::from_collection(&collection);
        let skipped = collection.skipped().to_vec();
        Loaded {
            snapshot,
            entries: collection.into_entries(),
            skipped,
        }
    }

    /// How many servers it holds.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}
