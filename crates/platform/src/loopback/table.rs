//! The same question as `diag`, answered from `/proc/net/tcp{,6}`, for where
//! a sock_diag socket cannot be had (a sandbox that forbids netlink, a
//! kernel without it). Read afresh for every question, never shared between
//! connections, so an answer is about the sockets as they are now. It costs
//! 17-21 ms of kernel time here whether 21 or 690 sockets are listed (the
//! kernel walks its whole connection table), which is why it is only the
//! fallback.
//!
//! A half-open connection (SYN_RECV) is listed with its listener's owner
//! and inode 0, as the kernel prints it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{mapped_v4, Socket, LISTEN};

/// A TCP socket as `/proc/net/tcp{,6}` lists it.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    local: SocketAddr,
    remote: SocketAddr,
    socket: Socket,
}

/// As `diag::Diag::find`: the socket at `local` connected to `remote`,
/// else the listener a connection to `local` would reach (one on that very
/// address before one on every address). `None` where `/proc` lists no
/// TCP sockets at all (not Linux's).
pub(super) fn find(local: SocketAddr, remote: SocketAddr) -> Option<Option<Socket>> {
    let mut entries = Vec::new();
    let mut any = false;
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            any = true;
            entries.extend(text.lines().skip(1).filter_map(parse_line));
        }
    }
    any.then(|| pick(&entries, local, remote))
}

fn pick(entries: &[Entry], local: SocketAddr, remote: SocketAddr) -> Option<Socket> {
    let connection = entries.iter().find(|entry| {
        entry.socket.state != LISTEN && same(entry.local, local) && same(entry.remote, remote)
    });
    // The kernel's preference: that very address, then every address of the
    // same family, then (for IPv4) a dual-stack IPv6 listener.
    let v4 = mapped_v4(local.ip()).is_ipv4();
    let rank = |entry: &&Entry| {
        if same(entry.local, local) {
            Some(0)
        } else if !entry.local.ip().is_unspecified() {
            None
        } else if entry.local.is_ipv4() == v4 {
            Some(1)
        } else if v4 {
            Some(2)
        } else {
            None
        }
    };
    let listener = entries
        .iter()
        .filter(|entry| entry.socket.state == LISTEN && entry.local.port() == local.port())
        .filter_map(|entry| rank(&entry).map(|rank| (rank, entry)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, entry)| entry);
    connection.or(listener).map(|entry| entry.socket)
}

fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && mapped_v4(a.ip()) == mapped_v4(b.ip())
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.split_whitespace();
    let local = parse_address(fields.nth(1)?)?;
    let remote = parse_address(fields.next()?)?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    // tx_queue:rx_queue, tr:when, retransmits, then uid, timeout, inode.
    let uid = fields.nth(3)?.parse().ok()?;
    let inode = fields.nth(1)?.parse().ok()?;
    Some(Entry {
        local,
        remote,
        socket: Socket { state, uid, inode },
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

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("addr")
    }

    #[test]
    fn parses_proc_net_tcp_lines() {
        let v4 = "   0: 0100007F:9003 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 90232 1";
        assert_eq!(
            parse_line(v4),
            Some(Entry {
                local: addr("127.0.0.1:36867"),
                remote: addr("0.0.0.0:0"),
                socket: Socket {
                    state: LISTEN,
                    uid: 1000,
                    inode: 90232
                },
            })
        );
        let v6 = "   1: 00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:C350 01 00000000:00000000 00:00000000 00000000    65534        0 1 1";
        let entry = parse_line(v6).expect("v6");
        assert_eq!(entry.local, addr("[::1]:8080"));
        assert_eq!(
            mapped_v4(entry.remote.ip()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(entry.remote.port(), 50000);
        assert_eq!(entry.socket.state, 1);
        assert_eq!(entry.socket.uid, 65534);
        assert_eq!(parse_line("garbage"), None);
    }

    #[test]
    fn picks_the_connection_else_the_listener_that_would_take_it() {
        let entry = |local: &str, remote: &str, state: u8, uid: u32| Entry {
            local: addr(local),
            remote: addr(remote),
            socket: Socket {
                state,
                uid,
                inode: u64::from(uid) + 1,
            },
        };
        let entries = [
            entry("[::]:8080", "[::]:0", LISTEN, 3),
            entry("0.0.0.0:8080", "0.0.0.0:0", LISTEN, 2),
            entry("127.0.0.1:8080", "0.0.0.0:0", LISTEN, 1),
            entry("127.0.0.1:8080", "127.0.0.1:5000", 1, 7),
            entry("[::ffff:127.0.0.1]:9090", "[::ffff:127.0.0.1]:6000", 1, 8),
            entry("[::]:9090", "[::]:0", LISTEN, 9),
        ];
        let uid =
            |local: &str, remote: &str| pick(&entries, addr(local), addr(remote)).map(|s| s.uid);
        assert_eq!(uid("127.0.0.1:8080", "127.0.0.1:5000"), Some(7));
        assert_eq!(
            uid("127.0.0.1:8080", "127.0.0.1:5001"),
            Some(1),
            "the listener on that address"
        );
        assert_eq!(
            uid("127.0.0.2:8080", "127.0.0.1:0"),
            Some(2),
            "then on every address"
        );
        assert_eq!(
            uid("[::1]:8080", "[::1]:0"),
            Some(3),
            "an IPv6 one for IPv6"
        );
        assert_eq!(
            uid("127.0.0.1:9090", "127.0.0.1:6000"),
            Some(8),
            "IPv4-mapped is IPv4"
        );
        assert_eq!(uid("127.0.0.1:9090", "127.0.0.1:0"), Some(9), "dual-stack");
        assert_eq!(uid("127.0.0.1:7070", "127.0.0.1:0"), None);
    }
}
