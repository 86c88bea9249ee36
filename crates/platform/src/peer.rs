//! Who is at the other end of a connected Unix stream socket, as the kernel
//! reports it (docs/architecture.md, "User presence"): the peer's user id,
//! and its process id where the system says it. The kernel records both
//! when the connection is made, so the peer cannot claim to be anyone else.
//!
//! Linux: `SO_PEERCRED` (uid and pid). macOS: `LOCAL_PEERCRED` (uid) and
//! `LOCAL_PEERPID` (pid), the same facts `getpeereid` reads; compile-checked
//! only, never run on a Mac. Other Unix systems: an error saying it is not
//! supported yet. Windows has no Unix stream sockets in the standard
//! library; its approval channel will be a named pipe (not here yet).
//!
//! Limits: the pid names the process that connected; if it exits and its
//! id is reused, the id names another process. It is for showing the person
//! who asks, not for a security decision; the uid is.

use std::os::fd::AsFd;

/// The process at the other end of a Unix stream socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its effective user id when it connected.
    pub uid: u32,
    /// Its process id, when the system reports one (not across a PID
    /// namespace on Linux, where the kernel says 0).
    pub pid: Option<u32>,
}

impl Peer {
    /// Whether the peer runs as this process's effective user.
    pub fn is_same_user(&self) -> bool {
        self.uid == nix::unistd::geteuid().as_raw()
    }
}

/// Asks the kernel who is at the other end of `socket` (a connected Unix
/// stream socket, either end).
pub fn unix_peer(socket: &impl AsFd) -> std::io::Result<Peer> {
    imp::unix_peer(socket.as_fd())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    use std::os::fd::BorrowedFd;

    pub fn unix_peer(socket: BorrowedFd<'_>) -> std::io::Result<super::Peer> {
        let credentials = getsockopt(&socket, PeerCredentials)?;
        Ok(super::Peer {
            uid: credentials.uid(),
            pid: u32::try_from(credentials.pid())
                .ok()
                .filter(|pid| *pid != 0),
        })
    }
}

#[cfg(target_vendor = "apple")]
mod imp {
    use nix::sys::socket::{
        getsockopt,
        sockopt::{LocalPeerCred, LocalPeerPid},
    };
    use std::os::fd::BorrowedFd;

    pub fn unix_peer(socket: BorrowedFd<'_>) -> std::io::Result<super::Peer> {
        let credentials = getsockopt(&socket, LocalPeerCred)?;
        // The pid is extra: a failure here leaves it unknown, not the peer.
        let pid = getsockopt(&socket, LocalPeerPid)
            .ok()
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|pid| *pid != 0);
        Ok(super::Peer {
            uid: credentials.uid(),
            pid,
        })
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
mod imp {
    use std::os::fd::BorrowedFd;

    pub fn unix_peer(_socket: BorrowedFd<'_>) -> std::io::Result<super::Peer> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "Keybearer cannot yet tell who is at the other end of a local connection on this system.",
        ))
    }
}

#[cfg(all(
    test,
    any(target_os = "linux", target_os = "android", target_vendor = "apple")
))]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn both_ends_see_this_process_and_user() {
        let (one, other) = UnixStream::pair().expect("socket pair");
        for end in [&one, &other] {
            let peer = unix_peer(end).expect("peer");
            assert!(peer.is_same_user());
            assert_eq!(peer.pid, Some(std::process::id()));
        }
    }

    /// Only root can run a program as another user. Where `CI` is set (CI
    /// runs as root) that must be so; elsewhere the test says it is skipped.
    #[allow(clippy::print_stderr)] // the skip is said, not silent
    fn root_or_skip(test: &str) -> bool {
        if nix::unistd::geteuid().is_root() {
            return true;
        }
        let ci =
            std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"));
        assert!(!ci, "{test} needs root in CI");
        eprintln!("skipped {test}: needs root to run a program as another user");
        false
    }

    #[test]
    fn another_user_is_seen_as_another_user() {
        use std::os::unix::{fs::PermissionsExt, net::UnixListener, process::CommandExt};
        if !root_or_skip("another_user_is_seen_as_another_user") {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let path = dir.path().join("peer.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let nobody = nix::unistd::User::from_name("nobody")
            .expect("users")
            .expect("a user named nobody");
        // A real process of another user connects (the system's Python, not
        // one under root's home, which that user cannot read).
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args([
                "-c",
                "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(5)",
            ])
            .arg(&path)
            .uid(nobody.uid.as_raw())
            .gid(nobody.gid.as_raw())
            .spawn()
            .expect("python3 as nobody");
        let (stream, _) = listener.accept().expect("accept");
        let peer = unix_peer(&stream).expect("peer");
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(peer.uid, nobody.uid.as_raw());
        assert!(!peer.is_same_user());
        assert_eq!(peer.pid, Some(child.id()));
    }
}
