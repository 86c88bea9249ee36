//! The team-vault tests' world: a real OpenBao server (`bao.rs`, shared
//! with the CLI's tests), members signed in on keychain entries of their
//! own; the real MCP peers and the keychain come from the engine's tests'
//! support.
#![allow(dead_code)] // each test binary uses its own part of this

pub mod bao;
#[path = "../../../vault/tests/support/mcp_client.rs"]
pub mod mcp_client;
#[path = "../../../vault/tests/support/peers.rs"]
pub mod peers;
#[path = "../../../vault/tests/support/secret_service.rs"]
mod secret_service;

pub use secret_service::require_secret_service;

use std::path::Path;

use keybearer_base::secret::UserSecret;
use keybearer_team::{TeamServer, TeamServerSettings, TeamVault};

pub use bao::{Bao, MOUNT};

impl Bao {
    /// Settings for this server, with the CA file when it has one.
    pub fn settings(&self, id: &str) -> TeamServerSettings {
        let settings = TeamServerSettings::new(id, &self.address, MOUNT).expect("settings");
        match &self.ca_file {
            Some(ca) => settings.with_ca_file(ca),
            None => settings,
        }
    }
}

/// A development team vault named `name`.
pub fn dev_vault(name: &str) -> TeamVault {
    TeamVault::new(&format!("tvl_{name}"), "development", name).expect("vault")
}

/// A signed-in member, on a keychain entry of its own (`id`).
pub fn sign_in(bao: &Bao, id: &str, user: &str, password: &UserSecret) -> TeamServer {
    let settings = bao.settings(id);
    off_runtime(|| TeamServer::sign_in(settings, user, password)).expect("sign in")
}

/// Runs `f` off any async runtime's thread (the team client blocks).
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().expect("thread"))
}

#[path = "../../../vault/tests/support/logs.rs"]
mod logs;
pub use logs::capture_logs;

pub fn assert_never_logged<S: AsRef<str>>(secrets: &[S]) {
    let logs = String::from_utf8_lossy(&capture_logs().lock().expect("log buffer")).into_owned();
    assert!(!logs.is_empty(), "the log capture works");
    for secret in secrets {
        assert!(!logs.contains(secret.as_ref()), "a secret reached the log");
    }
}

/// The text of an error, checked to hold none of `secrets`.
pub fn clean_message<S: AsRef<str>>(error: &keybearer_base::Error, secrets: &[S]) -> String {
    let message = error.to_string();
    for secret in secrets {
        assert!(
            !message.contains(secret.as_ref()),
            "a secret in an error: {message}"
        );
    }
    message
}

pub fn write_token_file(path: &Path, value: &str) {
    let staged = path.with_extension("new");
    std::fs::write(&staged, value).expect("token file");
    std::fs::rename(staged, path).expect("token file");
}
