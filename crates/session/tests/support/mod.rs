//! Shared by the session tests: a data folder with an engine and
//! shell-script agents (`world`), and the engine tests' Python MCP peers,
//! used from where they live (crates/vault/tests/support/peers.rs).

#![allow(dead_code)] // each test file uses its own part of it

#[path = "../../../vault/tests/support/peers.rs"]
pub mod peers;
pub mod world;

#[path = "../../../vault/tests/support/secret_service.rs"]
mod secret_service;

pub use secret_service::require_secret_service;
