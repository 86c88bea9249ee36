//! Who is on the other end of a connection to this computer. A token sent
//! over plain `http://` to a loopback port goes to whatever program listens
//! there; another user of the computer could listen on it while the real
//! server is down, or on `[::1]` while the server listens on `127.0.0.1`. On
//! Linux, before a token goes to a loopback address, the owner of the
//! server's end of the connection (or of the listening socket) is read from
//! `/proc/net/tcp{,6}` and must be this process's user; otherwise the token
//! is not sent and the user is told why. Elsewhere (macOS, Windows) this
//! check does not exist yet (docs/architecture.md, "Proxy"). The same
//! table tells a sign-in's listener (`oauth/listener.rs`) when a connection
//! to it comes from another user's program.
//!
//! Reading the table costs time in proportion to every socket on the
//! computer, so connections opened together share one reading: the last
//! one is kept, and a new connection uses it when it already lists that
//! very connection, established, under our socket's inode (so it was read
//! while this connection existed, and the server end it lists is this
//! connection's). Otherwise the table is read again.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

/// A TCP socket as `/proc/net/tcp{,6}` lists it.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    local: SocketAddr,
    remote: SocketAddr,
    listening: bool,
    /// State 01: a live connection (not TIME_WAIT and the like, whose owner
    /// is no longer the server's).
    established: bool,
    uid: u32,
    inode: u64,
}

/// One reading of the table, with the connections indexed by their ends.
struct Snapshot {
    me: u32,
    listening: Vec<Entry>,
    /// Connections by (local end, remote end), addresses made IPv4 where mapped.
    connections: HashMap<(SocketAddr, SocketAddr), Entry>,
}

impl Snapshot {
    /// The socket at `local` connected to `remote`, in any state: the
    /// server's end may still be SYN_RECV (a listener with
    /// `TCP_DEFER_ACCEPT` keeps it so until data arrives), and its owner
    /// counts all the same.
    fn connection(&self, local: SocketAddr, remote: SocketAddr) -> Option<&Entry> {
        self.connections.get(&(plain(local), plain(remote)))
    }

    /// Our own end of an established connection, to tell whether this
    /// reading was made while the connection existed.
    fn established(&self, local: SocketAddr, remote: SocketAddr) -> Option<&Entry> {
        self.connection(local, remote)
            .filter(|entry| entry.established)
    }
}

/// The last reading, shared by connections opened together.
static LAST: Mutex<Option<Arc<Snapshot>>> = Mutex::new(None);

/// Checks the server end of an established connection from `ours` to
/// `server`; `inode` is our socket's (see [`socket_inode`]), which lets a
/// recent reading of the table serve. `Ok` when the server belongs to our
/// user, or when the address is not loopback, or on systems without
/// `/proc/net/tcp`.
pub(crate) fn check_connection(
    ours: SocketAddr,
    server: SocketAddr,
    inode: Option<u64>,
) -> Result<(), String> {
    if !server.ip().is_loopback() && !mapped_v4(server.ip()).is_loopback() {
        return Ok(());
    }
    match other_end_owner(ours, server, inode) {
        Some(uid) => Err(foreign(server, uid)),
        None => Ok(()),
    }
}

/// The user id of the program at the other end of `stream` (a connection one
/// of our listeners accepted) when that is another user; `None` when it is
/// us, or unknown (no `/proc/net/tcp`).
pub(crate) fn foreign_peer(stream: &std::net::TcpStream) -> Option<u32> {
    let (ours, peer) = (stream.local_addr().ok()?, stream.peer_addr().ok()?);
    #[cfg(unix)]
    let inode = socket_inode(stream);
    #[cfg(not(unix))]
    let inode = None;
    other_end_owner(ours, peer, inode)
}

/// The owner of `other`'s end of the connection from `ours`, when it is not
/// this process's user. A recent reading of the table serves when it lists
/// our end, established, under `inode`.
fn other_end_owner(ours: SocketAddr, other: SocketAddr, inode: Option<u64>) -> Option<u32> {
    let last = LAST
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .filter(|last| {
            inode.is_some_and(|inode| {
                last.established(ours, other)
                    .is_some_and(|entry| entry.inode == inode)
            })
        });
    let table = last.or_else(|| {
        let fresh = Arc::new(snapshot()?);
        *LAST.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&fresh));
        Some(fresh)
    })?;
    table
        .connection(other, ours)
        .map(|entry| entry.uid)
        .filter(|&uid| uid != table.me)
}

/// The inode of a socket (Linux: `/proc/self/fd/N` reads `socket:[inode]`).
#[cfg(unix)]
pub(crate) fn socket_inode(socket: &impl std::os::fd::AsRawFd) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    link.to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Checks who listens on `server` (a loopback address), before connecting.
/// Who listens on a loopback URL's port must be our own user before a
/// token, a code or a client secret goes there; `localhost` is checked on
/// both address families. Other hosts pass (they are not on this computer).
pub(crate) fn check_url_listeners(url: &url::Url) -> Result<(), String> {
    let Some(port) = url.port_or_known_default() else {
        return Ok(());
    };
    let addresses: Vec<std::net::IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![ip.into()],
        Some(url::Host::Ipv6(ip)) => vec![ip.into()],
        Some(url::Host::Domain(_)) => vec![
            std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::Ipv6Addr::LOCALHOST.into(),
        ],
        None => Vec::new(),
    };
    for ip in addresses {
        check_listener(SocketAddr::new(ip, port))?;
    }
    Ok(())
}

/// The loopback address a server of our own user listens on at `port`:
/// IPv4 (`127.0.0.1`, or every address) first, else IPv6 (`::1`, or every
/// IPv6 address); `Some(None)` when none of ours listens there; `None`
/// without `/proc/net/tcp`.
pub(crate) fn own_listener(port: u16) -> Option<Option<IpAddr>> {
    let table = snapshot()?;
    let ours = |entry: &&Entry| {
        entry.uid == table.me
            && entry.local.port() == port
            && (entry.local.ip().is_loopback()
                || mapped_v4(entry.local.ip()).is_loopback()
                || entry.local.ip().is_unspecified())
    };
    let mut found: Vec<IpAddr> = table
        .listening
        .iter()
        .filter(ours)
        .map(|entry| mapped_v4(entry.local.ip()))
        .collect();
    found.sort_by_key(IpAddr::is_ipv6);
    Some(found.first().map(|ip| match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }))
}

pub(crate) fn check_listener(server: SocketAddr) -> Result<(), String> {
    let Some(table) = snapshot() else {
        return Ok(());
    };
    let found = table.listening.iter().find(|entry| {
        entry.local.port() == server.port()
            && (same(entry.local, server) || entry.local.ip().is_unspecified())
    });
    match found {
        Some(entry) if entry.uid != table.me => Err(foreign(server, entry.uid)),
        _ => Ok(()),
    }
}

fn foreign(server: SocketAddr, uid: u32) -> String {
    format!(
        "the program listening on {server} belongs to another user of this computer (uid {uid}), so Keybearer did not send it your token; start your own server on that port, or use its https:// address"
    )
}

fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && mapped_v4(a.ip()) == mapped_v4(b.ip())
}

/// `::ffff:127.0.0.1` and `127.0.0.1` are the same peer.
fn mapped_v4(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `::ffff:127.0.0.1:P` written as `127.0.0.1:P`.
fn plain(address: SocketAddr) -> SocketAddr {
    SocketAddr::new(mapped_v4(address.ip()), address.port())
}

/// Every TCP socket, and this process's user; `None` where `/proc` has none.
fn snapshot() -> Option<Snapshot> {
    let me = own_uid()?;
    let mut table = Snapshot {
        me,
        listening: Vec::new(),
        connections: HashMap::new(),
    };
    let mut any = false;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            any = true;
            for entry in text.lines().skip(1).filter_map(parse_line) {
                if entry.listening {
                    table.listening.push(entry);
                } else {
                    table
                        .connections
                        .insert((plain(entry.local), plain(entry.remote)), entry);
                }
            }
        }
    }
    any.then_some(table)
}

fn own_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    // Real, effective, saved, filesystem: the effective one owns our sockets.
    line.split_whitespace().nth(2)?.parse().ok()
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.split_whitespace();
    let local = parse_address(fields.nth(1)?)?;
    let remote = parse_address(fields.next()?)?;
    let state = fields.next()?;
    // tx_queue:rx_queue, tr:when, retransmits, then uid, timeout, inode.
    let uid = fields.nth(3)?.parse().ok()?;
    let inode = fields.nth(1)?.parse().ok()?;
    Some(Entry {
        local,
        remote,
        listening: state == "0A",
        established: state == "01",
        uid,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), each 32-bit word printed
/// as a number in the machine's own byte order, then the port in hex.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.to_ne_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (word, chunk) in bytes.chunks_mut(4).enumerate() {
                let value = u32::from_str_radix(ip.get(word * 8..word * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&value.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp_lines() {
        let v4 = "   0: 0100007F:9003 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 90232 1";
        assert_eq!(
            parse_line(v4),
            Some(Entry {
                local: "127.0.0.1:36867".parse().expect("addr"),
                remote: "0.0.0.0:0".parse().expect("addr"),
                listening: true,
                established: false,
                uid: 1000,
                inode: 90232,
            })
        );
        let v6 = "   1: 00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000    65534        0 1 1";
        let entry = parse_line(v6).expect("v6");
        assert_eq!(entry.local, "[::1]:8080".parse().expect("addr"));
        assert_eq!(
            mapped_v4(entry.remote.ip()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(entry.remote.port(), 50000);
        assert!(!entry.listening);
        assert!(entry.established);
        assert_eq!(entry.uid, 65534);
        assert_eq!(parse_line("garbage"), None);
    }

    #[cfg(unix)]
    #[test]
    fn our_own_listener_passes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        assert_eq!(check_listener(addr), Ok(()));
        let client = std::net::TcpStream::connect(addr).expect("connect");
        let (_server, _) = listener.accept().expect("accept");
        let ours = client.local_addr().expect("local");
        let inode = socket_inode(&client);
        assert!(inode.is_some());
        assert_eq!(check_connection(ours, addr, inode), Ok(()));
        // The reading just made lists this connection: it is used again.
        let last = LAST.lock().expect("lock").clone().expect("kept");
        assert_eq!(last.connection(ours, addr).map(|entry| entry.inode), inode);
        assert_eq!(
            last.connection(addr, ours).map(|entry| entry.uid),
            Some(last.me)
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_reading_serves_only_the_connections_it_lists_under_their_inode() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let first = std::net::TcpStream::connect(addr).expect("connect");
        let _accepted = listener.accept().expect("accept");
        let ours = first.local_addr().expect("local");
        assert_eq!(check_connection(ours, addr, socket_inode(&first)), Ok(()));
        let kept = LAST.lock().expect("lock").clone().expect("kept");
        // A connection opened after the reading is not in it.
        let second = std::net::TcpStream::connect(addr).expect("connect");
        let _accepted = listener.accept().expect("accept");
        assert!(kept
            .connection(second.local_addr().expect("local"), addr)
            .is_none());
        assert_eq!(
            check_connection(
                second.local_addr().expect("local"),
                addr,
                socket_inode(&second)
            ),
            Ok(())
        );
    }
}
