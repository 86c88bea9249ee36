//! Keybearer's platform layer (docs/architecture.md, "Crates"): what it asks
//! of the operating system, one module per capability, each implemented for
//! Linux and saying plainly where another system cannot do it yet.
//!
//! Owns: the owner check of loopback connections and listeners
//! (`loopback`), the identity of the process at the other end of a Unix
//! socket (`peer`) or of a named pipe (`pipe`, Windows), hardening of
//! Keybearer's own processes (`hardening`), and on Windows a session's
//! process tree (`job`, a Job Object) and facts about a process by its id
//! (`process`: what Linux reads in `/proc`).
//! Must never depend on another Keybearer crate: every other crate may
//! build on it, so it knows nothing of vaults, tokens or HTTP.

pub mod hardening;
#[cfg(windows)]
pub mod job;
pub mod loopback;
#[cfg(unix)]
pub mod peer;
#[cfg(windows)]
pub mod pipe;
#[cfg(any(windows, target_os = "macos"))]
pub mod process;
#[cfg(all(test, windows))]
mod test_helper;

pub use hardening::harden_process;
