//! The macOS sandbox's rules as a Seatbelt profile: the SBPL text that
//! `/usr/bin/sandbox-exec -p` applies to the agent before it starts
//! (docs/architecture.md, "Sessions"). Pure text, built and tested on every
//! system; only `seatbelt` (macOS) runs it. **It has never run on a Mac**:
//! the tests here check the text and a model of how Seatbelt decides, not
//! Seatbelt.
//!
//! The flow: `seatbelt` gathers the same rules as Linux's mounts
//! (`sandbox_layout::Rule` on absolute, link-free paths: hidden, writable,
//! read-only), adds the read-only rules of [`protection`], and [`profile`]
//! writes them out. Seatbelt lets the last rule that matches decide, so the
//! rules come in bubblewrap's mount order (shortest path first, one rule a
//! path, the strongest winning): the most specific rule wins, as on Linux.
//!
//! What the profile says, on top of everything allowed:
//! - no other process is seen, signalled or read (`process-info*`,
//!   `signal`, task ports, and `kern.procargs*`, the environment and
//!   arguments of a process): only the agent's own, which share its sandbox;
//! - the keychain's services ([`KEYCHAIN_SERVICES`]) cannot be reached, and
//!   no program can be started outside the sandbox on the agent's behalf:
//!   no `launchd` job, no LaunchServices `open`, no Apple Event (say, to
//!   Terminal), no login item, no preference written through `cfprefsd`
//!   ([`ESCAPE_SERVICES`]);
//! - files: everything read-only; hidden folders unreadable and
//!   unwritable, their Unix sockets unreachable; writable folders open;
//!   read-only ones (protected files, the agent's program) readable and
//!   unwritable; `/dev` writable (Linux's own `/dev`);
//! - every writable folder, and every folder inside one that leads to a
//!   hidden or read-only path, cannot be renamed or removed (on Linux they
//!   are mount points): `.git` cannot be moved aside and remade;
//! - the folders above a path brought back inside a hidden one (the
//!   session's private folder in the data folder) show their metadata, not
//!   their contents, so a program that resolves the path can walk it.
//!
//! Paths are SBPL strings with `\` and `"` escaped; a path with a control
//! character, not valid text, relative or too long for Seatbelt is
//! refused, never written.
//!
//! Limits: the operation and service names are Apple's and were not tried
//! here; the network stays open (as on Linux); a hard link to a protected
//! file made before the session is a way to change it.

use std::path::{Path, PathBuf};

use super::sandbox_layout::{mounts, Rule};

/// The program that applies a profile and starts the agent under it.
pub(crate) const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// The keychain's services: `securityd` (the login keychain's files and
/// its prompts) and `secd` (the data-protection and iCloud keychain).
/// Certificate checks go to `trustd`, which stays reachable.
pub(crate) const KEYCHAIN_SERVICES: &[&str] = &[
    "com.apple.SecurityServer",
    "com.apple.securityd",
    "com.apple.securityd.xpc",
];

/// Services that start programs outside the sandbox: LaunchServices (what
/// `open` asks), login items and background tasks.
pub(crate) const ESCAPE_SERVICES: &[&str] = &[
    "com.apple.coreservices.launchservicesd",
    "com.apple.coreservices.quarantine-resolver",
    "com.apple.xpc.smd",
    "com.apple.backgroundtaskmanagementagent",
];

/// Before the file rules: other processes, the keychain, the escapes.
/// A process in the same sandbox is the agent or one it started.
const PREAMBLE: &str = "(version 1)
(allow default)
; Processes outside the sandbox: not seen, not signalled, not read.
(deny process-info*)
(allow process-info* (target same-sandbox))
(deny signal)
(allow signal (target same-sandbox))
(deny mach-priv-task-port)
(allow mach-priv-task-port (target same-sandbox))
(deny sysctl-read (sysctl-name-prefix \"kern.procargs\"))
; Nothing started outside the sandbox on the agent's behalf.
(deny job-creation)
(deny lsopen)
(deny appleevent-send)
(deny user-preference-write)
";

/// The read-only rules for the `protected` paths that lie inside a
/// writable folder (elsewhere everything is read-only already). Unlike
/// Linux, a link is no reason to refuse: the caller passes both the link
/// and what it points to, and both are covered.
pub(crate) fn protection(protected: &[PathBuf], writable: &[PathBuf]) -> Vec<(PathBuf, Rule)> {
    protected
        .iter()
        .filter(|path| {
            writable
                .iter()
                .any(|folder| path.starts_with(folder) && path != &folder)
        })
        .map(|path| (path.clone(), Rule::ReadOnly))
        .collect()
}

/// The profile for `rules` (absolute, link-free paths), or the path that
/// cannot be written into one.
pub(crate) fn profile(rules: Vec<(PathBuf, Rule)>) -> Result<String, PathBuf> {
    let mounts = mounts(rules);
    let mut out = String::from(PREAMBLE);
    out.push_str("(deny mach-lookup");
    for name in KEYCHAIN_SERVICES.iter().chain(ESCAPE_SERVICES) {
        out.push_str(&format!("\n  (global-name {})", quote_text(name)));
    }
    out.push_str(
        ")\n; Files: read-only, then each rule, the longest path last.\n(deny file-write*)\n",
    );
    for mount in &mounts {
        let path = quote(&mount.path)?;
        let line = match mount.rule {
            Rule::Hidden => hide(&format!("(subpath {path})")),
            Rule::Null => hide(&format!("(literal {path})")),
            Rule::ReadOnly => format!(
                "(allow file-read* (subpath {path}))\n(deny file-write* (subpath {path}))\n"
            ),
            Rule::Writable => format!(
                "(allow file-read* file-write* (subpath {path}))\n\
                 (allow network-outbound (remote unix-socket (subpath {path})))\n\
                 (allow network-bind (local unix-socket (subpath {path})))\n"
            ),
        };
        out.push_str(&line);
    }
    let pinned = pinned(&mounts);
    if !pinned.is_empty() {
        out.push_str("; Not to be renamed or removed.\n(deny file-write*");
        for path in &pinned {
            out.push_str(&format!("\n  (literal {})", quote(path)?));
        }
        out.push_str(")\n");
    }
    let traversable = traversable(&mounts);
    if !traversable.is_empty() {
        out.push_str("; Above what was brought back: metadata only.\n(allow file-read-metadata");
        for path in &traversable {
            out.push_str(&format!("\n  (literal {})", quote(path)?));
        }
        out.push_str(")\n");
    }
    Ok(out)
}

/// `sandbox-exec`'s arguments that start `program` with `args` under
/// `profile`, or the program's path when it is not valid text.
pub(crate) fn arguments(
    profile: String,
    program: &Path,
    args: Vec<String>,
) -> Result<Vec<String>, PathBuf> {
    let program = program
        .to_str()
        .ok_or_else(|| program.to_path_buf())?
        .to_string();
    let mut out = Vec::with_capacity(args.len() + 4);
    out.extend(["-p".to_string(), profile, "--".to_string(), program]);
    out.extend(args);
    Ok(out)
}

/// A hidden path: neither read nor written, nor its sockets reached.
fn hide(filter: &str) -> String {
    format!(
        "(deny file-read* file-write* {filter})\n\
         (deny network-outbound (remote unix-socket {filter}))\n\
         (deny network-bind (local unix-socket {filter}))\n"
    )
}

/// Every writable folder, and every folder inside one on the way to a
/// hidden or read-only path (the path itself is covered by its own rule).
fn pinned(mounts: &[super::sandbox_layout::Mount]) -> Vec<PathBuf> {
    let writable: Vec<&Path> = mounts
        .iter()
        .filter(|mount| mount.rule == Rule::Writable)
        .map(|mount| mount.path.as_path())
        .collect();
    let mut pinned: Vec<PathBuf> = writable.iter().map(|path| path.to_path_buf()).collect();
    for mount in mounts.iter().filter(|mount| mount.rule != Rule::Writable) {
        for folder in mount.path.ancestors().skip(1) {
            let inside = writable
                .iter()
                .any(|root| folder.starts_with(root) && folder != *root);
            if inside {
                pinned.push(folder.to_path_buf());
            }
        }
    }
    pinned.sort();
    pinned.dedup();
    pinned
}

/// The hidden folders, and the folders between them and a path brought
/// back inside them, whose metadata a program may read.
fn traversable(mounts: &[super::sandbox_layout::Mount]) -> Vec<PathBuf> {
    let hidden: Vec<&Path> = mounts
        .iter()
        .filter(|mount| matches!(mount.rule, Rule::Hidden | Rule::Null))
        .map(|mount| mount.path.as_path())
        .collect();
    let mut out = Vec::new();
    for mount in mounts
        .iter()
        .filter(|mount| matches!(mount.rule, Rule::Writable | Rule::ReadOnly))
    {
        for root in hidden
            .iter()
            .filter(|root| mount.path.starts_with(root) && mount.path != **root)
        {
            out.extend(
                mount
                    .path
                    .ancestors()
                    .skip(1)
                    .take_while(|folder| folder.starts_with(root))
                    .map(Path::to_path_buf),
            );
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Longest SBPL string Seatbelt reads (it refuses some past 1,024 bytes);
/// macOS paths are shorter than that anyway.
const MAX_STRING: usize = 1000;

/// `path` as an SBPL string, or itself when it cannot be one.
fn quote(path: &Path) -> Result<String, PathBuf> {
    let refused = || path.to_path_buf();
    let text = path.to_str().ok_or_else(refused)?;
    if !path.is_absolute() || text.chars().any(char::is_control) {
        return Err(refused());
    }
    let quoted = quote_text(text);
    if quoted.len() > MAX_STRING {
        return Err(refused());
    }
    Ok(quoted)
}

/// `text` in double quotes, `\` and `"` escaped (SBPL is Scheme: nothing
/// else in a string is special).
fn quote_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

// Unix paths throughout (the profile is for macOS): tested on Unix.
#[cfg(all(test, unix))]
#[path = "seatbelt_profile_tests.rs"]
mod tests;
