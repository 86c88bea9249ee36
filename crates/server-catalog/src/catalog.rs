//! [`Catalog`]: a checked, sorted list of entries with look-up and search.
//!
//! Flow: [`Catalog::shipped`] reads the embedded `servers.toml` once per
//! process; [`Catalog::merged`] adds what the MCP Registry knows on top of it
//! (the registry fetcher calls it after each refresh). The UI's picker and the
//! CLI's `catalog [SEARCH]` call [`Catalog::search`]; `credential add --server
//! ID` calls [`Catalog::get`]; the credential list names a server with
//! [`Catalog::find_by_url`].
//!
//! Merge rule: a shipped entry wins over any registry entry that shares one of
//! its addresses or its registry name (the shipped one knows the token page
//! and the sign-in kind, the registry only what the publisher declared);
//! registry-only entries are added; among registry entries the first wins.
//!
//! Limits: search is a plain case-insensitive substring match over name, id
//! and purpose (every word of the query must match); no fuzzy matching.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::model::Entry;
use crate::shipped::{self, ShippedError};
use crate::validate;

/// A checked list of known remote MCP servers, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<Entry>,
}

pub(crate) fn sort_by_name(entries: &mut [Entry]) {
    entries.sort_by_cached_key(|entry| (entry.name.to_lowercase(), entry.id.clone()));
}

impl Catalog {
    /// The catalog shipped inside Keybearer, read once per process.
    ///
    /// The data is checked by this crate's tests; should it ever fail to read,
    /// this is an empty catalog (the "Other server" path still works) and
    /// [`Catalog::load_shipped`] says why.
    pub fn shipped() -> &'static Catalog {
        static SHIPPED: OnceLock<Catalog> = OnceLock::new();
        SHIPPED.get_or_init(|| Self::load_shipped().unwrap_or_default())
    }

    /// Reads the shipped data now and says what is wrong with it, if anything.
    pub fn load_shipped() -> Result<Catalog, ShippedError> {
        Self::from_toml(shipped::SERVERS_TOML)
    }

    /// Reads a catalog file in the shipped format.
    pub fn from_toml(text: &str) -> Result<Catalog, ShippedError> {
        Ok(Catalog {
            entries: shipped::parse(text)?,
        })
    }

    /// This catalog plus registry entries: an entry whose address or registry
    /// name is already known is dropped (the known one wins), as is one that
    /// fails the checks; the rest are added.
    pub fn merged(shipped: &Catalog, registry: impl IntoIterator<Item = Entry>) -> Catalog {
        let mut entries = shipped.entries.clone();
        let mut ids: HashSet<String> = entries.iter().map(|entry| entry.id.clone()).collect();
        let mut urls: HashSet<String> = entries
            .iter()
            .flat_map(|entry| entry.remotes.iter().map(|remote| remote.url.clone()))
            .collect();
        let mut names: HashSet<String> = entries
            .iter()
            .filter_map(|entry| {
                entry
                    .registry_name
                    .as_ref()
                    .map(|name| name.to_ascii_lowercase())
            })
            .collect();
        for entry in registry {
            let known_name = entry
                .registry_name
                .as_ref()
                .is_some_and(|name| names.contains(&name.to_ascii_lowercase()));
            let known_url = entry
                .remotes
                .iter()
                .any(|remote| urls.contains(&remote.url));
            let duplicate_url = {
                let mut seen = HashSet::new();
                !entry.remotes.iter().all(|remote| seen.insert(&remote.url))
            };
            if known_name
                || known_url
                || duplicate_url
                || ids.contains(&entry.id)
                || validate::entry(&entry).is_err()
            {
                continue;
            }
            ids.insert(entry.id.clone());
            urls.extend(entry.remotes.iter().map(|remote| remote.url.clone()));
            if let Some(name) = &entry.registry_name {
                names.insert(name.to_ascii_lowercase());
            }
            entries.push(entry);
        }
        sort_by_name(&mut entries);
        Catalog { entries }
    }

    /// Every entry, sorted by name.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this id (`github`), or with this registry name
    /// (`io.github.github/github-mcp-server`); ids match exactly, registry
    /// names regardless of case.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| entry.id == id)
            .or_else(|| {
                self.entries.iter().find(|entry| {
                    entry
                        .registry_name
                        .as_ref()
                        .is_some_and(|name| name.eq_ignore_ascii_case(id))
                })
            })
    }

    /// The entry one of whose addresses is this one (compared after the same
    /// normalisation the catalog applies: lowercase host, no default port).
    pub fn find_by_url(&self, url: &str) -> Option<&Entry> {
        let normal = validate::web_address("address", url).ok()?;
        self.entries
            .iter()
            .find(|entry| entry.remotes.iter().any(|remote| remote.url == normal))
    }

    /// Entries whose name, id or purpose contain every word of the query,
    /// regardless of case. Names that start with the query come first, then
    /// names or ids containing it, then purpose matches; each group by name.
    /// An empty query gives every entry, by name.
    pub fn search(&self, query: &str) -> Vec<&Entry> {
        let query = query.trim().to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return self.entries.iter().collect();
        }
        let mut found: Vec<(u8, &Entry)> = self
            .entries
            .iter()
            .filter_map(|entry| {
                let name = entry.name.to_lowercase();
                let id = entry.id.to_lowercase();
                let purpose = entry.purpose.to_lowercase();
                let all_match = words
                    .iter()
                    .all(|word| name.contains(word) || id.contains(word) || purpose.contains(word));
                if !all_match {
                    return None;
                }
                let rank = if name.starts_with(&query) || id.starts_with(&query) {
                    0
                } else if words
                    .iter()
                    .all(|word| name.contains(word) || id.contains(word))
                {
                    1
                } else {
                    2
                };
                Some((rank, entry))
            })
            .collect();
        // Stable: entries are already sorted by name within each rank.
        found.sort_by_key(|(rank, _)| *rank);
        found.into_iter().map(|(_, entry)| entry).collect()
    }
}
