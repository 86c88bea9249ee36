//! Whose sockets may receive a token (docs/architecture.md, "Proxy"): our
//! own user's; root's (root can read our keychain and our memory anyway,
//! so refusing it protects nothing: `docker-proxy` publishing a container's
//! port runs as root); and the system's own accounts, the uids below the
//! first one given to a person (`UID_MIN` in `/etc/login.defs`, 1000 when
//! it does not say), which the administrator installed with the services
//! that use them (the `www-data` that serves a system nginx's workers).
//! `nobody` (65534) is refused although it is a system account: it is the
//! account shared by any service that wants no account of its own, so a
//! server running as `nobody` can be reached by every other such service.
//! Every other user of the computer is refused.
//!
//! Limit: a system account is a principal of its own, so a compromised
//! service (its own account, not root) that listens on a loopback port
//! while the real server is down would be sent the token. Refusing those
//! accounts would refuse the usual system services too.

use std::sync::OnceLock;

/// The account of services that want none of their own (the kernel's
/// `overflowuid` too: how an unmapped user shows inside a user namespace).
pub(super) const NOBODY: u32 = 65534;

/// The first user id of a person when `/etc/login.defs` does not say.
const DEFAULT_UID_MIN: u32 = 1000;

/// Whether a socket owned by `uid` may receive our user's token.
pub(super) fn trusted(uid: u32) -> bool {
    trusted_by(uid, own_uid(), first_person_uid())
}

fn trusted_by(uid: u32, own: u32, uid_min: u32) -> bool {
    uid == own || uid == 0 || (uid < uid_min && uid != NOBODY)
}

/// The user this process acts as: the effective uid owns the sockets it opens.
pub(super) fn own_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// `UID_MIN` from `/etc/login.defs`, read once.
fn first_person_uid() -> u32 {
    static UID_MIN: OnceLock<u32> = OnceLock::new();
    *UID_MIN.get_or_init(|| {
        std::fs::read_to_string("/etc/login.defs")
            .ok()
            .and_then(|text| uid_min(&text))
            .unwrap_or(DEFAULT_UID_MIN)
    })
}

/// The `UID_MIN` setting of a `login.defs` text (`NAME value` lines, `#`
/// comments).
fn uid_min(text: &str) -> Option<u32> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("UID_MIN")).then(|| words.next())?
        })
        .next_back()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_user_root_and_system_accounts_are_trusted_nobody_and_others_not() {
        let own = 1000;
        assert!(trusted_by(1000, own, 1000));
        assert!(trusted_by(0, own, 1000));
        assert!(trusted_by(33, own, 1000), "www-data");
        assert!(trusted_by(999, own, 1000));
        assert!(!trusted_by(1001, own, 1000), "another person");
        assert!(!trusted_by(NOBODY, own, 1000));
        // Even where people's ids would start above it.
        assert!(!trusted_by(NOBODY, own, 70_000));
        assert!(!trusted_by(u32::MAX, own, 1000));
        // Root's own process trusts root and system accounts, not people.
        assert!(trusted_by(0, 0, 1000));
        assert!(!trusted_by(1000, 0, 1000));
    }

    #[test]
    fn uid_min_is_read_from_login_defs() {
        let defs = "# UID_MIN 5\nMAIL_DIR /var/mail\nUID_MIN\t\t\t 1000\nUID_MAX 60000\n#SYS_UID_MIN 100\n";
        assert_eq!(uid_min(defs), Some(1000));
        assert_eq!(uid_min("UID_MIN 500 # older systems\n"), Some(500));
        assert_eq!(uid_min("UID_MAX 60000\n"), None);
        assert_eq!(uid_min("UID_MIN lots\n"), None);
    }
}
