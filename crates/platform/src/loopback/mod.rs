//! Who is on the other end of a connection to this computer
//! (docs/architecture.md, "Proxy"). A token sent over plain `http://` to a
//! loopback port goes to whatever program listens there; another user of
//! the computer could listen on it while the real server is down, or on
//! `[::1]` while the server listens on `127.0.0.1`. On Linux nothing is
//! written to a loopback server until the kernel has said who owns the
//! server's end of that very connection, and that owner is trusted
//! (`trust`: our own user, root, the system's own accounts; not `nobody`,
//! not another person's account); otherwise the token is not sent and the
//! user is told why. On macOS (`macos`, `own_sockets`; never run on a Mac)
//! the system lists only our own user's sockets, so a loopback server is
//! trusted only when one of our own programs listens on its address, and a
//! sign-in's client only when one of our programs holds its end. On
//! Windows (`windows`, `windows_rules`) every user's sockets are listed
//! with both ends and the process holding each: a loopback server is
//! trusted only when processes of our own user, and nobody else's, listen
//! on its address and hold its end of the connection, and a sign-in's
//! client only when its end is held by a process of ours (Wine 8 names no
//! process, so there only the table and the decisions are tested).
//!
//! The flow, for each new connection (`check_connection`), from the
//! connection's own two ends, the same way every time:
//! - The kernel is asked about the server's end of this connection, and
//!   about the listener that made it (`diag`: sock_diag by address, a few
//!   microseconds; `table`: `/proc/net/tcp` read afresh, only where
//!   sock_diag cannot be had). Both must belong to trusted users.
//! - Once the server has taken the connection (`accept`), the end belongs
//!   to the user of the process that took it: an nginx run by root whose
//!   workers run as `nobody` is `nobody`'s. Until then it shows the
//!   listener's owner (refused at once if untrusted), so a connection a
//!   trusted listener made but no process took yet is looked at again
//!   (spinning for a fraction of a millisecond, then every millisecond,
//!   within the 10 s connect limit) until it is: the verdict does not
//!   depend on how fast the server takes it.
//! - A connection still half-open (SYN_RECV, kept so by a listener with
//!   `TCP_DEFER_ACCEPT` until data arrives) has no owner in the kernel's
//!   answer (uid 0, inode 0): its listener's owner must be trusted, and if
//!   it stays half-open for `HANDSHAKE_GRACE` (5 ms), that decides (the
//!   limit: such a listener of a trusted user whose connections are taken
//!   by another user's processes is let through).
//! - A server end that is gone (closed, or not on this computer's table,
//!   as behind a container's address translation) receives nothing: passes.
//!
//! The other way round, a sign-in's own listener (`oauth/listener.rs`)
//! asks who connected to it (`foreign_peer`): the client's end of that
//! connection belongs to the program that opened it. This check fails
//! closed: the request counts only when the client's end is found, still
//! held by a process (an inode), and that process's user is trusted, in
//! whatever TCP state the end is (a client that half-closed with
//! `shutdown(SHUT_WR)` is in FIN_WAIT and still reads the answer). An end
//! no process holds (closed, TIME_WAIT) or not found at all is foreign;
//! only where the kernel cannot be asked at all (neither sock_diag nor
//! `/proc/net/tcp`) does the request count.
//!
//! Before connecting, Test connection and sign-in also check the listener
//! of a loopback URL (`check_url_listeners`, both families for
//! `localhost`), so a refusal reads plainly; `trusted_listener` tells
//! which loopback address a trusted server listens on.
//!
//! Limits: a process of a trusted user that takes a connection and hands it
//! to another user's process is trusted; inside a user namespace, users not
//! mapped into it (root outside included) show as `nobody`.

#[cfg(target_os = "linux")]
mod diag;
#[cfg(target_os = "macos")]
mod macos;
// Pure decisions, tested on every system; only macOS asks them (Windows
// shares `covers`).
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod own_sockets;
#[cfg(target_os = "linux")]
mod table;
#[cfg(target_os = "linux")]
mod trust;
#[cfg(windows)]
mod windows;
// Pure decisions, tested on every system; only Windows asks them.
#[cfg_attr(not(windows), allow(dead_code))]
mod windows_rules;

use std::net::{IpAddr, SocketAddr};

/// Checks the server end of an established connection from `ours` to
/// `server` (and its listener) before anything is written to it: `Ok` when
/// a trusted user owns both, when the address is not loopback, or where
/// the check does not exist. Waits while the server has not yet taken the
/// connection.
pub async fn check_connection(ours: SocketAddr, server: SocketAddr) -> Result<(), String> {
    if !mapped_v4(server.ip()).is_loopback() {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        linux::check_connection(ours, server).await
    }
    #[cfg(target_os = "macos")]
    {
        macos::check_connection(ours, server).await
    }
    #[cfg(windows)]
    {
        windows::check_connection(ours, server).await
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = ours;
        Ok(())
    }
}

/// Checks who listens at a loopback URL's port before connecting: a trusted
/// user, or nobody at all. `localhost` is checked on both address families.
/// Other hosts pass (they are not on this computer).
pub fn check_url_listeners(url: &url::Url) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        linux::check_url_listeners(url)
    }
    #[cfg(target_os = "macos")]
    {
        macos::check_url_listeners(url)
    }
    #[cfg(windows)]
    {
        windows::check_url_listeners(url)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = url;
        Ok(())
    }
}

/// The loopback address a trusted user's server listens on at `port`:
/// IPv4 (`127.0.0.1`, or every address) first, else IPv6 (`::1`, or every
/// IPv6 address); `Some(None)` when none listens there; `None` where this
/// cannot be known (on macOS when no program of ours listens; on Windows
/// when another user's program listens there too).
pub fn trusted_listener(port: u16) -> Option<Option<IpAddr>> {
    #[cfg(target_os = "linux")]
    {
        linux::trusted_listener(port)
    }
    #[cfg(target_os = "macos")]
    {
        macos::trusted_listener(port)
    }
    #[cfg(windows)]
    {
        windows::trusted_listener(port)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = port;
        None
    }
}

/// Why the program at the other end of a connection to one of our
/// listeners is not taken for one of a trusted user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // only Linux can tell a user
pub enum Foreign {
    /// Its end is held by a process of this user, who is not trusted.
    User(u32),
    /// Its end is held by no process (closed, TIME_WAIT) or was not found:
    /// whoever sent the request cannot be told.
    Unknown,
}

/// Whether the program at the other end of `stream` (a connection one of
/// our listeners accepted, such as a sign-in's) is foreign (`Some`): a
/// trusted user's (`trust`) only when the kernel shows its end held by such
/// a user's process (on macOS and Windows: one of our own user's). `None`
/// where this cannot be known at all (the kernel cannot be asked).
pub fn foreign_peer(stream: &std::net::TcpStream) -> Option<Foreign> {
    #[cfg(target_os = "linux")]
    {
        let (Ok(ours), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            // Not connected any more: nobody to answer.
            return Some(Foreign::Unknown);
        };
        linux::untrusted_peer(ours, peer)
    }
    #[cfg(target_os = "macos")]
    {
        match stream.peer_addr() {
            Ok(peer) => macos::untrusted_peer(peer),
            // Not connected any more: nobody to answer.
            Err(_) => Some(Foreign::Unknown),
        }
    }
    #[cfg(windows)]
    {
        let (Ok(ours), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            // Not connected any more: nobody to answer.
            return Some(Foreign::Unknown);
        };
        windows::untrusted_peer(ours, peer)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = stream;
        None
    }
}

/// `::ffff:127.0.0.1` and `127.0.0.1` are the same peer.
fn mapped_v4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How long a half-open server end is looked at before its listener
/// decides: an ordinary one is taken within microseconds of our
/// `connect` returning; one that stays half-open this long waits for data
/// (`TCP_DEFER_ACCEPT`).
#[cfg(target_os = "linux")]
const HANDSHAKE_GRACE: std::time::Duration = std::time::Duration::from_millis(5);

/// One TCP socket as the kernel reports it.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Socket {
    /// The kernel's TCP state number (`TCP_ESTABLISHED` = 1 …).
    state: u8,
    uid: u32,
    /// 0 while no process holds the socket (not yet taken, or closed).
    inode: u64,
}

#[cfg(target_os = "linux")]
const ESTABLISHED: u8 = 1;
#[cfg(target_os = "linux")]
const SYN_RECV: u8 = 3;
#[cfg(target_os = "linux")]
const CLOSE_WAIT: u8 = 8;
#[cfg(target_os = "linux")]
const LISTEN: u8 = 10;

#[cfg(target_os = "linux")]
mod linux;
