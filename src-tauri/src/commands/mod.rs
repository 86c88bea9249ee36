//! Thin IPC commands, grouped by domain. Each is a line or two into vault-core.

pub mod credentials;
pub mod environments;
pub mod events;
#[cfg(unix)]
pub mod sessions;
pub mod setup;
pub mod vaults;
