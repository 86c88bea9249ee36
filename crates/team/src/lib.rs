//! Team vaults on an OpenBao (or HashiCorp Vault) server
//! (docs/architecture.md, "Team vaults"): a team vault is a folder of a KV
//! version 2 mount, one secret per credential, shared by the team's
//! members, each signed in with their own token.
//!
//! Flow: the user signs in ([`TeamServer::sign_in`], `userpass`); the token
//! goes to the OS keychain (never the database or a file) and is renewed
//! before its time to live runs out; [`TeamServer::resume`] picks it up in
//! another process; [`TeamServer::sign_out`] revokes it. A session's team
//! vaults are read through a [`TeamSource`] — the `CredentialSource` the
//! proxy and the bridge already ask, so they never learn where a token
//! lives — which checks each cached credential's KV version every check
//! interval (30 s) and after a 401, so a colleague's rotation reaches
//! running agents without a restart, and uses the last value the server
//! confirmed for a limited time (1 hour) while the server is out of reach
//! (kept sealed beyond the process through a [`LastGoodStore`]).
//! A session mixing local and team vaults asks a
//! [`keybearer_source::Routed`] source (by vault id prefix,
//! [`VAULT_ID_PREFIX`]). Changes made from Keybearer
//! ([`TeamServer::put_credential`], check-and-set) record who made them in
//! the secret's custom metadata; a member allowed only to read is told so
//! before anything is written.
//!
//! Modules: `settings` (address, CA, mount, paths per environment,
//! intervals), `client` (HTTP, transport errors), `auth` (token
//! endpoints), `keychain` (where the token is kept), `server` (the
//! signed-in server, renewal, refusals told apart), `kv` (KV v2), `vaults`
//! (credentials in team vaults), `folder` (a vault's folder: made once with
//! a marker, listed), `history` (who changed what, from metadata), `secret`
//! (what a credential sends), `source` (the cache the proxy reads through),
//! `last_good` (its [`LastGoodStore`]: the last good values beyond the
//! process), `reach` (when a source's server stopped answering, told to
//! that store), `oidc` (the OIDC sign-in through the loopback listener).
//!
//! Sign-in by `userpass`, a token, or OIDC in the browser (`oidc`, as
//! `vault login -method=oidc` does it). Limits: OAuth grants are not
//! shared (each member signs in to such a server).
//!
//! Owns: the team server's client and sign-in, the team source. Must never
//! depend on the store (`keybearer-vault`), the proxy, the bridge or
//! sessions: the engine's wiring composes this source with the local one.

mod auth;
mod client;
mod folder;
mod history;
mod keychain;
mod kv;
mod last_good;
mod oidc;
mod reach;
mod secret;
mod server;
mod settings;
mod source;
mod vaults;

pub use auth::Who;
pub use folder::Attached;
pub use history::{HistoryEntry, CHANGED_OUTSIDE};
pub use last_good::{Kept, LastGoodStore};
pub use oidc::{OidcOptions, DEFAULT_OIDC_MOUNT, DEFAULT_OIDC_PORT, OIDC_CALLBACK_PATH};
pub use secret::TeamSecret;
pub use server::Health;
pub use server::TeamServer;
pub use settings::{
    credential_key, TeamServerSettings, TeamVault, DEFAULT_CHECK_INTERVAL, DEFAULT_LAST_GOOD_LIMIT,
    DEFAULT_PATH_TEMPLATE, VAULT_ID_PREFIX,
};
pub use source::{credential_id, TeamSource};
pub use vaults::{Access, LastChange, TeamCredential};
