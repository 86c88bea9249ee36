//! Opened tokens kept for the injecting proxy, so a proxied request costs a
//! `PRAGMA data_version` and a map lookup instead of a database read and an
//! AES-GCM open (DESIGN.md §3). The whole cache is dropped as soon as the
//! database changes in any way, by this engine or by another connection or
//! process (the CLI), so rotation and deletion take effect on the next request.
//!
//! Entries are keyed by what the proxy resolves on (the session's ordered
//! vault ids and the server URL), never by credential id. A "no credential"
//! answer is cached too, so a session whose credential was deleted does not
//! hit the database on every refused request. Tokens are zeroised when the
//! last holder drops them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::engine::Injection;
use crate::store::StoreStamp;

#[derive(Default)]
pub(crate) struct InjectionCache {
    /// The store's stamp the entries were valid at; `None` = nothing cached.
    stamp: Option<StoreStamp>,
    entries: HashMap<String, Option<Arc<Injection>>>,
}

/// One string per (vault order, URL): ids never contain a NUL byte, URLs are
/// rejected long before they could.
pub(crate) fn key(vault_ids: &[String], url: &str) -> String {
    let mut key = String::with_capacity(url.len() + vault_ids.len() * 40);
    for id in vault_ids {
        key.push_str(id);
        key.push('\0');
    }
    key.push('\0');
    key.push_str(url);
    key
}

impl InjectionCache {
    /// Drops everything unless the store still stands at the stamp the
    /// entries were made at; afterwards the cache is valid at `now`.
    pub(crate) fn validate(&mut self, now: StoreStamp) {
        if self.stamp != Some(now) {
            if !self.entries.is_empty() {
                tracing::debug!(
                    entries = self.entries.len(),
                    "vault database changed; dropping cached tokens"
                );
            }
            self.entries.clear();
            self.stamp = Some(now);
        }
    }

    /// `Some(answer)` when cached (the answer may be "no credential").
    pub(crate) fn get(&self, key: &str) -> Option<Option<Arc<Injection>>> {
        self.entries.get(key).cloned()
    }

    pub(crate) fn insert(&mut self, key: String, answer: Option<Arc<Injection>>) {
        self.entries.insert(key, answer);
    }

    /// Called after this engine wrote something that cannot change what any
    /// URL resolves to (the audit trail). If the cache was valid before the
    /// write and no other connection committed meanwhile (`data_version`
    /// unchanged), it stays valid at the new stamp.
    pub(crate) fn carry_over(&mut self, before: StoreStamp, after: StoreStamp) {
        if self.stamp == Some(before) && before.data_version == after.data_version {
            self.stamp = Some(after);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.stamp = None;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(data_version: i64, own_changes: u64) -> StoreStamp {
        StoreStamp {
            data_version,
            own_changes,
        }
    }

    #[test]
    fn any_change_drops_entries_and_audit_writes_carry_over() {
        let mut cache = InjectionCache::default();
        cache.validate(stamp(1, 10));
        cache.insert(key(&["vlt_a".into()], "https://a.example/mcp"), None);
        cache.validate(stamp(1, 10));
        assert_eq!(cache.len(), 1);

        // Our own audit write only: still valid.
        cache.carry_over(stamp(1, 10), stamp(1, 12));
        cache.validate(stamp(1, 12));
        assert_eq!(cache.len(), 1);

        // Another connection committed during our audit write: not carried over.
        cache.carry_over(stamp(1, 12), stamp(2, 14));
        cache.validate(stamp(2, 14));
        assert_eq!(cache.len(), 0);

        cache.insert(key(&["vlt_a".into()], "u"), None);
        // A local write that was not announced as audit-only.
        cache.validate(stamp(2, 15));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn keys_keep_vault_order_apart() {
        let ab = key(&["a".into(), "b".into()], "u");
        let ba = key(&["b".into(), "a".into()], "u");
        assert_ne!(ab, ba);
        assert_ne!(key(&["a".into()], "bu"), key(&["ab".into()], "u"));
    }
}
