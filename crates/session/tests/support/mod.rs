//! Shared by the session tests: a data folder with an engine and
//! shell-script agents (`world`), and the engine tests' Python MCP peers,
//! used from where they live (crates/vault-core/tests/support/peers.rs).

#![allow(dead_code)] // each test file uses its own part of it

#[path = "../../../vault-core/tests/support/peers.rs"]
pub mod peers;
pub mod world;

pub fn require_secret_service() {
    assert_eq!(
        std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}
