//! Keybearer's platform layer (docs/architecture.md, "Crates"): what it asks
//! of the operating system, one module per capability, each implemented for
//! Linux and saying plainly where another system cannot do it yet.
//!
//! Owns: the owner check of loopback connections and listeners
//! (`loopback`), the identity of the process at the other end of a Unix
//! socket (`peer`), hardening of Keybearer's own processes (`hardening`).
//! Must never depend on another Keybearer crate: every other crate may
//! build on it, so it knows nothing of vaults, tokens or HTTP.

pub mod hardening;
pub mod loopback;
#[cfg(unix)]
pub mod peer;

pub use hardening::harden_process;
