//! Reading the official MCP Registry's server list (`GET /v0.1/servers`, and
//! `/v0/servers`, which answers the same way), one page at a time, without any
//! network: the caller fetches the bytes and passes them here.
//!
//! Format followed: the registry's OpenAPI document, version 2025-12-01
//! (`docs/reference/api/openapi.yaml` in github.com/modelcontextprotocol/registry),
//! whose `ServerList` is
//! `{ "servers": [ { "server": <server.json>, "_meta": { "io.modelcontextprotocol.registry/official": { "status", "isLatest", … } } } ], "metadata": { "nextCursor", "count" } }`,
//! with server.json per schema 2025-12-11. Pages are requested with
//! `?cursor=<metadata.nextCursor>` until it is absent or empty.
//!
//! Flow: [`parse_registry_page`] refuses the whole answer when it is bigger
//! than [`MAX_PAGE_BYTES`], not JSON, or not of that shape; otherwise each
//! listed server becomes an entry, a removal (status `deleted`, as sent when
//! asking with `updated_since`) or a [`Skip`] with a reason for the log
//! (`registry_entry.rs` says which). [`RegistryCollection`] gathers pages,
//! drops repeats and stops at [`MAX_TOTAL_ENTRIES`] entries or [`MAX_PAGES`]
//! pages, or when the registry sends a cursor it sent before.
//!
//! Limits: at most [`MAX_ENTRIES_PER_PAGE`] servers of one page are read
//! (the page says so with `truncated`); JSON nesting deeper than 128 levels is
//! refused by serde_json. Nothing here is sent anywhere: building the request
//! (only the list request, with `cursor`, `limit`, `updated_since`) is the
//! fetcher's job.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;

use crate::model::Entry;
use crate::registry_entry::{self, Kept, Outcome};
use crate::validate::quoted;

/// The largest answer read; a bigger one is refused whole.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Servers read from one page; the rest of a longer page are ignored.
pub const MAX_ENTRIES_PER_PAGE: usize = 500;
/// Entries kept from all pages together.
pub const MAX_TOTAL_ENTRIES: usize = 2_000;
/// Pages read in one refresh.
pub const MAX_PAGES: usize = 100;
/// The longest `nextCursor` accepted.
pub const MAX_CURSOR_CHARS: usize = 1024;

/// Why a whole registry answer was refused. Every message ends by saying that
/// nothing was lost: the shipped catalog keeps working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("The MCP Registry sent {size} bytes, more than the {MAX_PAGE_BYTES} Keybearer reads, so the answer was ignored. The built-in list of servers is still used.")]
    TooBig { size: usize },
    #[error("The MCP Registry's answer is not valid JSON ({detail}), so it was ignored. The built-in list of servers is still used.")]
    NotJson { detail: String },
    #[error("The MCP Registry's answer is not a list of servers ({detail}), so it was ignored. The built-in list of servers is still used.")]
    WrongShape { detail: String },
}

/// A listed server that was not used, and why (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// The server's registry name, escaped and clipped, or its position (`#3`).
    pub server: String,
    pub reason: String,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipped registry server {}: {}",
            self.server, self.reason
        )
    }
}

/// One page of the registry's answer, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Usable remote servers, in the registry's order.
    pub entries: Vec<Entry>,
    /// Servers not used, with reasons.
    pub skipped: Vec<Skip>,
    /// Registry names the registry marks deleted.
    pub removed: Vec<String>,
    /// The cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// How many servers the page listed.
    pub listed: usize,
    /// Whether the page listed more than [`MAX_ENTRIES_PER_PAGE`] servers (the
    /// rest were not read).
    pub truncated: bool,
    /// Each entry's server as the cache keeps it (same order as `entries`).
    pub(crate) kept: Vec<serde_json::Value>,
    /// Registry names whose cached copy this page makes out of date.
    pub(crate) superseded: Vec<String>,
}

#[derive(Deserialize)]
struct ServerList {
    servers: Vec<serde_json::Value>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default, rename = "nextCursor")]
    next_cursor: Option<String>,
}

fn detail(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let clipped: String = text.chars().take(120).collect();
    clipped.chars().filter(|c| !c.is_control()).collect()
}

/// Reads one page of `GET /v0.1/servers` (or `/v0/servers`).
pub fn parse_registry_page(bytes: &[u8]) -> Result<Page, RegistryError> {
    if bytes.len() > MAX_PAGE_BYTES {
        return Err(RegistryError::TooBig { size: bytes.len() });
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| RegistryError::NotJson {
            detail: detail(&error),
        })?;
    let list: ServerList =
        serde_json::from_value(value).map_err(|error| RegistryError::WrongShape {
            detail: detail(&error),
        })?;
    let next_cursor = match list.metadata.and_then(|metadata| metadata.next_cursor) {
        Some(cursor) if cursor.is_empty() => None,
        Some(cursor)
            if cursor.chars().count() > MAX_CURSOR_CHARS
                || cursor.chars().any(char::is_control) =>
        {
            return Err(RegistryError::WrongShape {
                detail: "its next-page marker is too long or has control characters".to_owned(),
            })
        }
        cursor => cursor,
    };

    let mut page = read_servers(list.servers, MAX_ENTRIES_PER_PAGE);
    page.next_cursor = next_cursor;
    Ok(page)
}

/// The first `limit` of `servers`, each made an entry, a removal or a skip;
/// repeats within the list skipped. (A page's servers, or a cached copy's.)
pub(crate) fn read_servers(servers: Vec<serde_json::Value>, limit: usize) -> Page {
    let mut page = Page {
        entries: Vec::new(),
        skipped: Vec::new(),
        removed: Vec::new(),
        next_cursor: None,
        listed: servers.len(),
        truncated: servers.len() > limit,
        kept: Vec::new(),
        superseded: Vec::new(),
    };
    let mut names: HashSet<String> = HashSet::new();
    let mut urls: HashSet<String> = HashSet::new();
    for (index, value) in servers.into_iter().take(limit).enumerate() {
        match registry_entry::convert(value, &format!("#{}", index + 1)) {
            Outcome::Entry(kept) => {
                let Kept { entry, trimmed } = *kept;
                let repeated_name = !names.insert(entry.id.clone());
                let repeated_url = entry
                    .remotes
                    .iter()
                    .any(|remote| urls.contains(&remote.url));
                if repeated_name || repeated_url {
                    page.skipped.push(Skip {
                        server: quoted(&entry.id),
                        reason: "repeats a server or an address listed before it".to_owned(),
                    });
                    continue;
                }
                urls.extend(entry.remotes.iter().map(|remote| remote.url.clone()));
                page.entries.push(entry);
                page.kept.push(trimmed);
            }
            Outcome::Removed(name) => page.removed.push(name),
            Outcome::Skipped {
                server,
                reason,
                supersedes,
            } => {
                page.skipped.push(Skip { server, reason });
                page.superseded.extend(supersedes);
            }
        }
    }
    page
}

/// Pages of one refresh, gathered: repeats dropped (the first wins), bounded.
#[derive(Debug, Default)]
pub struct RegistryCollection {
    entries: Vec<Entry>,
    /// Each entry's server as the cache keeps it (same order as `entries`).
    kept: Vec<serde_json::Value>,
    superseded: Vec<String>,
    ids: HashSet<String>,
    urls: HashSet<String>,
    skipped: Vec<Skip>,
    removed: Vec<String>,
    cursors: HashSet<String>,
    pages: usize,
    stopped: Option<&'static str>,
}

impl RegistryCollection {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a page. Returns the cursor to ask for next, or `None` when the
    /// refresh is over (last page, a limit reached, or a cursor seen before).
    pub fn add(&mut self, page: Page) -> Option<String> {
        self.pages += 1;
        self.skipped.extend(page.skipped);
        self.removed.extend(page.removed);
        self.superseded.extend(page.superseded);
        for (entry, kept) in page.entries.into_iter().zip(page.kept) {
            if self.entries.len() >= MAX_TOTAL_ENTRIES {
                self.stopped = Some("the catalog holds the most registry servers Keybearer keeps");
                break;
            }
            let repeated = self.ids.contains(&entry.id)
                || entry
                    .remotes
                    .iter()
                    .any(|remote| self.urls.contains(&remote.url));
            if repeated {
                continue;
            }
            self.ids.insert(entry.id.clone());
            self.urls
                .extend(entry.remotes.iter().map(|remote| remote.url.clone()));
            self.entries.push(entry);
            self.kept.push(kept);
        }
        if self.stopped.is_some() {
            return None;
        }
        let cursor = page.next_cursor?;
        if self.pages >= MAX_PAGES {
            self.stopped = Some("the registry sent more pages than Keybearer reads");
            return None;
        }
        if !self.cursors.insert(cursor.clone()) {
            self.stopped = Some("the registry sent a next-page marker it had sent before");
            return None;
        }
        Some(cursor)
    }

    /// Entries gathered so far, in the registry's order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn skipped(&self) -> &[Skip] {
        &self.skipped
    }

    /// Registry names marked deleted (to drop from a cached copy).
    pub fn removed(&self) -> &[String] {
        &self.removed
    }

    /// Why the refresh stopped before the registry's last page, if it did.
    pub fn stopped_early(&self) -> Option<&'static str> {
        self.stopped
    }

    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// How many pages were added.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// The servers kept, as the cache stores them: (lowercase registry name,
    /// trimmed server), in the registry's order.
    pub(crate) fn kept(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.entries
            .iter()
            .map(|entry| entry.id.as_str())
            .zip(self.kept.iter())
    }

    /// Registry names whose cached copy is out of date: marked deleted, or
    /// listed again in a form that is not usable (besides older versions).
    pub(crate) fn dropped(&self) -> impl Iterator<Item = &str> {
        self.removed
            .iter()
            .chain(self.superseded.iter())
            .map(String::as_str)
    }
}
