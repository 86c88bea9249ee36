//! The catalog of known remote MCP servers (issue 23): a person picks
//! "GitHub" or "Notion" and Keybearer knows the address, the protocol and how
//! the server signs in, instead of asking for a URL, a transport and a token.
//!
//! Flow:
//! - `servers.toml` (in this crate, compiled in) holds the servers Keybearer
//!   ships with, each with a comment naming where its facts come from (the
//!   vendor's docs, the official MCP Registry). [`Catalog::shipped`] reads it
//!   once per process (`shipped.rs`).
//! - [`parse_registry_page`] reads one page of the official MCP Registry's
//!   `GET /v0.1/servers` answer into entries and reasons for skipped servers
//!   (`registry.rs`, `registry_entry.rs`; an OAuth app its publisher
//!   declares: `registry_oauth_app.rs`); [`RegistryCollection`] gathers the
//!   pages of one refresh; [`Catalog::merged`] puts them under the shipped
//!   entries, the shipped entry winning for a shared address.
//! - [`Snapshot`] is what a refresh leaves for the next run: the usable
//!   servers, trimmed to the fields read, in the registry's own shape, read
//!   back with the same checks (`snapshot.rs`); an update asked with
//!   `updated_since` is applied to it.
//! - Every entry, shipped or fetched, passes the same checks (`validate.rs`):
//!   https addresses only, printable bounded text, unique ids and addresses.
//!
//! The crate `keybearer-server-catalog` (docs/architecture.md, "Crates")
//! must never depend on another Keybearer crate: it is data and checks.
//!
//! Limits: this crate does no I/O. Fetching the registry (at most once a day,
//! cached in the data folder, the address a setting) lives in
//! keybearer-vault (`known_servers`), the CLI's `catalog` command and the
//! desktop's `catalog_list` above it; the cache holds a [`Snapshot`], read
//! again on load, so cached data is checked like fresh data. See
//! docs/architecture.md, "Known servers".

mod catalog;
mod model;
mod registry;
mod registry_entry;
mod registry_oauth_app;
mod shipped;
mod snapshot;
pub mod validate;

pub use catalog::Catalog;
pub use model::{Entry, HeaderField, Origin, Remote, SignIn, SignInKind, Transport};
pub use registry::{
    parse_registry_page, Page, RegistryCollection, RegistryError, Skip, MAX_CURSOR_CHARS,
    MAX_ENTRIES_PER_PAGE, MAX_PAGES, MAX_PAGE_BYTES, MAX_TOTAL_ENTRIES,
};
pub use shipped::{ShippedError, SERVERS_TOML};
pub use snapshot::{Loaded, Snapshot};
