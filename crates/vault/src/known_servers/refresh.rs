//! Refreshing the known servers from the MCP Registry: when, how much, and
//! what is kept (docs/architecture.md, "Known servers").
//!
//! When: at most once a day, counted from the last try (success or not,
//! `cache.rs`), so a registry that is down costs one wait a day, not one per
//! command:
//! - [`Refresh::Now`] (`keybearer catalog --refresh`): the whole list, now;
//! - [`Refresh::Quick`] (`keybearer catalog`): when a day has passed and a
//!   list of this registry is cached, only the changes since it
//!   (`updated_since`), within [`QUICK`]'s few seconds; without a cached
//!   list, nothing (the whole list can take minutes: `--refresh` or the
//!   desktop fetch it);
//! - [`Refresh::Background`] (the desktop, on a thread of its own): when a
//!   day has passed, the changes, or the whole list when none is cached.
//!
//! What is kept: a refused answer (`fetch.rs`) changes nothing — the cache
//! stays as it was and the built-in list keeps working; an accepted one
//! replaces the cache whole (a full list) or is applied to it (an update),
//! and every skipped server is logged with its reason (never anything
//! secret: the registry is sent nothing secret and its data is public).

use std::path::PathBuf;
use std::time::Duration;

use keybearer_server_catalog::{Catalog, Snapshot};
use serde::Serialize;

use super::cache;
use super::fetch::{self, Limits, Refused};
use crate::error::{Error, Result};
use crate::model::Timestamp;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;
/// How far back an update asks, before the cached list's time: clocks of
/// this computer and the registry may differ (a server listed twice costs
/// nothing).
const UPDATE_OVERLAP_MS: i64 = HOUR_MS;

/// `catalog --refresh`: every page, each within 30 s, all within 5 min.
const NOW: Duration = Duration::from_secs(300);
/// `catalog` when a day has passed: the changes within 5 s.
const QUICK: Duration = Duration::from_secs(5);
/// The desktop's background refresh: 10 min.
const BACKGROUND: Duration = Duration::from_secs(600);
const PER_REQUEST: Duration = Duration::from_secs(30);
/// Skipped servers logged one by one per refresh; the rest are counted.
const SKIPS_LOGGED: usize = 50;

/// What a refresh asks for, and how long it may take (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Now,
    Quick,
    Background,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshKind {
    /// The whole list.
    Full,
    /// What changed since the cached list.
    Update,
}

/// A registry server that was not used, and why (for people: the name is
/// escaped and clipped).
#[derive(Debug, Clone, Serialize)]
pub struct SkippedServer {
    pub server: String,
    pub reason: String,
}

/// What a refresh read and kept.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    pub registry: String,
    pub kind: RefreshKind,
    pub pages: usize,
    /// Usable servers in the registry's answer.
    pub received: usize,
    /// Servers the registry marks deleted (an update).
    pub removed: usize,
    pub skipped: Vec<SkippedServer>,
    /// Why reading stopped before the registry's last page, if it did.
    pub stopped_early: Option<String>,
    /// Registry servers known now (the cache).
    pub known: usize,
    /// Of those, the ones listed beside the built-in servers (a registry
    /// server with a built-in one's address or name is left out).
    pub listed: usize,
    /// When this refresh began.
    pub fetched_at: Timestamp,
}

/// Refreshes one registry's list into one data folder. Owns what it needs,
/// so it runs without the engine (the desktop's background thread).
#[derive(Debug, Clone)]
pub struct Refresher {
    pub(super) data_dir: PathBuf,
    pub(super) registry: String,
}

impl Refresher {
    /// The registry's address.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Whether a day has passed since the last try (or the clock went back
    /// more than an hour, or this registry was never tried).
    pub fn due(&self) -> bool {
        let now = Timestamp::now().0;
        match cache::read_checked(&self.data_dir, &self.registry) {
            None => true,
            Some(at) => at.0 > now + HOUR_MS || now - at.0 >= DAY_MS,
        }
    }

    /// Refreshes as `how` says; `Ok(None)` when nothing was to be done.
    /// An error says, in plain words, why the registry's answer was not
    /// used; nothing was changed then.
    pub fn refresh(&self, how: Refresh) -> Result<Option<RefreshReport>> {
        if how != Refresh::Now && !self.due() {
            return Ok(None);
        }
        let cached = match how {
            Refresh::Now => None,
            Refresh::Quick | Refresh::Background => {
                cache::read_cache(&self.data_dir, &self.registry)
            }
        };
        if how == Refresh::Quick && cached.is_none() {
            return Ok(None);
        }
        let started = Timestamp::now();
        let since = cached
            .as_ref()
            .map(|cached| Timestamp(cached.fetched_at.0.min(started.0) - UPDATE_OVERLAP_MS));
        let total = match how {
            Refresh::Now => NOW,
            Refresh::Quick => QUICK,
            Refresh::Background => BACKGROUND,
        };
        if let Err(error) = cache::write_checked(&self.data_dir, &self.registry, started) {
            tracing::warn!(code = %error.code(), "could not record the registry refresh's time");
        }
        let kind = if since.is_some() {
            RefreshKind::Update
        } else {
            RefreshKind::Full
        };
        tracing::info!(registry = %self.registry, ?kind, "asking the MCP Registry for its list");
        let limits = Limits {
            per_request: PER_REQUEST.min(total),
            total,
        };
        let collection = match fetch::list(&self.registry, since, limits) {
            Ok(collection) => collection,
            Err(Refused(why)) => {
                tracing::warn!(registry = %self.registry, reason = %why, "registry list refused; nothing changed");
                return Err(Error::Registry(format!(
                    "The MCP Registry at {} {why}, so its list was not used. Nothing was changed: Keybearer keeps the servers it already knows.",
                    self.registry
                )));
            }
        };
        let snapshot = match &cached {
            Some(cached) => cached.loaded.snapshot.updated(&collection),
            None => Snapshot::from_collection(&collection),
        };
        cache::write_cache(&self.data_dir, &self.registry, started, &snapshot)?;
        super::forget_loaded();
        let catalog = super::merged(&self.data_dir, &self.registry);
        let skipped: Vec<SkippedServer> = collection
            .skipped()
            .iter()
            .map(|skip| SkippedServer {
                server: skip.server.clone(),
                reason: skip.reason.clone(),
            })
            .collect();
        for skip in skipped.iter().take(SKIPS_LOGGED) {
            tracing::info!(server = %skip.server, reason = %skip.reason, "registry server skipped");
        }
        let report = RefreshReport {
            registry: self.registry.clone(),
            kind,
            pages: collection.pages(),
            received: collection.entries().len(),
            removed: collection.removed().len(),
            stopped_early: collection.stopped_early().map(str::to_string),
            known: snapshot.len(),
            listed: catalog.len().saturating_sub(Catalog::shipped().len()),
            fetched_at: started,
            skipped,
        };
        tracing::info!(
            pages = report.pages,
            received = report.received,
            removed = report.removed,
            skipped = report.skipped.len(),
            known = report.known,
            stopped_early = report.stopped_early.as_deref().unwrap_or("no"),
            "registry list read"
        );
        Ok(Some(report))
    }
}
