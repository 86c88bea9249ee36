//! Keybearer's vocabulary (docs/architecture.md, "Crates"): what every other
//! part speaks, with no behaviour of its own beyond checking its values.
//!
//! Owns: [`Error`] and [`ErrorCode`] (the one list of failures and of the
//! codes programs branch on, OAuth's, team servers' and backups' included), the data model (no type of
//! it can hold a token), [`EventKind`](event_kind::EventKind), the secret
//! types (redacting, zeroising; a credential's own headers:
//! `secret_header`), the search for a request's secrets in
//! what its server answers (`echo`: needles and the streaming redactor,
//! pure bytes), the rules for an MCP server's address
//! (`server_url`) and for where a credential may go (`reach`), and text made
//! fit to show (`text`).
//! Must never depend on a Keybearer crate other than `keybearer-platform`:
//! no store, no HTTP client, no OAuth flow, no sessions.

pub mod backup_error;
pub mod echo;
pub mod error;
pub mod event_kind;
pub mod model;
pub mod oauth_error;
pub mod reach;
pub mod secret;
pub mod secret_header;
pub mod server_url;
pub mod team_error;
pub mod team_model;
pub mod text;

pub use error::{Error, ErrorCode, Result};
