//! App connections: find the AI apps on this computer, read the MCP servers
//! in their user-level settings files, and add, replace or remove
//! Keybearer's bridge entries there without disturbing anything else.
//!
//! Flow for a front end: [`detect_all`] (or [`config_file`]) → [`read_config`]
//! → [`list_servers`] / [`scan`] (import) → an edit
//! ([`upsert_bridge_entries`], [`replace_with_bridge`],
//! [`remove_connection_entries`], [`remove_entries`]) returning the new text
//! → [`write_atomic`] → [`find_copies`] (hard links and backups the rewrite
//! did not reach). Edits are pure text → text functions; only `detect`,
//! `read_config`, `write_atomic` and `copies` touch the disk.
//! [`changed_entries`] tells which of Keybearer's entries something else
//! has rewritten.
//!
//! The crate knows nothing of the vault or of Tauri: values come back as
//! plain strings (secrets found by [`scan`] as [`SecretValue`]) and every
//! `Debug` impl prints names, never values. Limits: user-level settings
//! only (no project files); see each module for the format-specific ones.

mod apps;
mod changed;
mod copies;
mod data;
mod detect;
mod edit;
mod entries;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod json_names;
mod json_shapes;
mod jsonc;
mod limits;
mod locations;
mod scan;
mod text;
mod toml;
mod write;
mod yaml;
mod yaml_layout;
mod yaml_limits;
mod yaml_text;

pub use apps::{App, Format, UnknownApp};
pub use changed::{changed_entries, ChangedEntry, Difference};
pub use copies::{
    delete_copy, find_copies, identity, FileIdentity, FoundCopy, MAX_COPY_BYTES, MIN_SECRET_BYTES,
};
pub use detect::{detect, detect_all, Detection};
pub use edit::{
    find_connection_entries, list_servers, remove_connection_entries, remove_entries,
    replace_with_bridge, upsert_bridge_entries,
};
pub use entries::{
    bridge_connection_id, BridgeEntry, RemoteServer, RemoteTransport, ServerEntry, StdioServer,
    Transport,
};
pub use error::{Error, Position, Result};
pub use locations::{
    config_dir, config_file, config_paths, default_config_path, ConfigFile, Locations, Os,
};
pub use scan::{scan, scan_entries, Finding, FindingKind, SecretValue};
pub use write::{prepare_write, read_config, write_atomic, PreparedWrite};
