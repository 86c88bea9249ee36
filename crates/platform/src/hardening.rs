//! What a Keybearer process does to itself first: it cannot be read by
//! another process of the same user (`PR_SET_DUMPABLE` 0 on Linux, which
//! also closes `/proc/<pid>/mem`, `environ` and ptrace to it) and never
//! writes a core dump (core size limit 0), since its memory holds the master
//! key, opened tokens and, in passphrase mode, the passphrase. The CLI, the
//! desktop app (and the bridge) call [`harden_process`] at the top of
//! `main`. Root can still read anything; a sandboxed session's agent cannot
//! even see these processes (docs/architecture.md, "Keys").
//!
//! macOS (compile-checked only, never run on a Mac): the core limit is set;
//! nothing stops a debugger yet. `ptrace(PT_DENY_ATTACH)` is not among nix's
//! ptrace requests for Apple, this workspace forbids `unsafe`, and the one
//! safe wrapper found (`anti-debug`'s `deny_attach`) needs `libproc`, whose
//! build script generates bindings from the macOS SDK, which the macOS check
//! here does not have (docs/architecture.md, "Platforms"). The system's own
//! answer is the hardened runtime of a signed app (without the
//! `get-task-allow` entitlement other processes cannot get its task port),
//! which comes with signing the release, not from this code. Windows:
//! nothing yet (denying other processes access to ours means changing the
//! process's own access list, which no safe interface offers).

/// Best effort: a failure is logged, never fatal (an old kernel, a
/// container that forbids it).
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!(%error, "could not make this process non-dumpable");
    }
    #[cfg(unix)]
    if let Err(error) =
        nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)
    {
        tracing::warn!(%error, "could not turn off core dumps");
    }
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn the_process_writes_no_core() {
        super::harden_process();
        let (soft, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE)
            .expect("getrlimit");
        assert_eq!((soft, hard), (0, 0));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_process_is_not_dumpable() {
        super::harden_process();
        assert!(!nix::sys::prctl::get_dumpable().expect("prctl"));
    }
}
