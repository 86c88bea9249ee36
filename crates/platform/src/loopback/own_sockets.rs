//! The loopback check where the system shows only our own user's sockets
//! (macOS, `macos`): what the TCP sockets held by our own processes say
//! about a server address or a client's end (docs/architecture.md,
//! "Proxy"). Pure decisions, built and tested on every system; only macOS
//! asks them (Windows, which sees every user's sockets, shares [`covers`]).
//! **Never run on a Mac.**
//!
//! macOS lists a process's sockets (`proc_pidfdinfo`) to that process's own
//! user only (and to root). So a socket found among them is our user's,
//! and one not found belongs to someone else: another user, root or a
//! system account, which cannot be told apart here.
//!
//! - A server address is ours when one of our sockets listens on it, on the
//!   wildcard of its family, or on IPv6's wildcard for an IPv4 address (a
//!   dual-stack `::` takes both). macOS refuses another user's bind to an
//!   address and port one of our sockets already covers, unless our
//!   program allowed sharing it (`SO_REUSEPORT`): that, not this module,
//!   is what keeps another user's program from answering in our server's
//!   place.
//! - A client's end (a sign-in's browser) is ours when one of our
//!   processes holds a socket bound to it, in any state but listening.
//!
//! Limits: a listener on `::` with `IPV6_V6ONLY` counts for IPv4 too (the
//! option is not shown), though another user could then take 127.0.0.1 at
//! that port; a server run by root or a system account (Linux trusts
//! those) is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::mapped_v4;

/// One TCP socket held by a process of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnSocket {
    pub(super) local: SocketAddr,
    pub(super) listening: bool,
}

/// Whether a socket listening on `listener` takes connections to `server`.
pub(super) fn covers(listener: SocketAddr, server: SocketAddr) -> bool {
    if listener.port() != server.port() {
        return false;
    }
    let (bound, to) = (mapped_v4(listener.ip()), mapped_v4(server.ip()));
    bound == to
        || match (bound, to) {
            (IpAddr::V4(bound), IpAddr::V4(_)) => bound.is_unspecified(),
            (IpAddr::V6(bound), _) => bound.is_unspecified(),
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
}

/// Whether one of our sockets listens where `server` is reached.
pub(super) fn listened_by_us(sockets: &[OwnSocket], server: SocketAddr) -> bool {
    sockets
        .iter()
        .any(|socket| socket.listening && covers(socket.local, server))
}

/// Whether one of our processes holds the client's end at `end`.
pub(super) fn held_by_us(sockets: &[OwnSocket], end: SocketAddr) -> bool {
    sockets.iter().any(|socket| {
        !socket.listening
            && socket.local.port() == end.port()
            && mapped_v4(socket.local.ip()) == mapped_v4(end.ip())
    })
}

/// The loopback address our own server listens on at `port`: IPv4 first,
/// else IPv6.
pub(super) fn our_listener(sockets: &[OwnSocket], port: u16) -> Option<IpAddr> {
    [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ]
    .into_iter()
    .find(|ip| listened_by_us(sockets, SocketAddr::new(*ip, port)))
}

/// Why nothing is sent to `server`: no program of ours listens there.
pub(super) fn refusal(server: SocketAddr) -> String {
    format!(
        "the program answering on {} does not run as you (macOS shows Keybearer only your own programs' connections, so it may be another user's, or root's), so Keybearer did not send it your token; run your server as yourself, or use its https:// address",
        SocketAddr::new(mapped_v4(server.ip()), server.port())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(addr: &str) -> OwnSocket {
        OwnSocket {
            local: addr.parse().expect("address"),
            listening: true,
        }
    }

    fn connected(addr: &str) -> OwnSocket {
        OwnSocket {
            local: addr.parse().expect("address"),
            listening: false,
        }
    }

    fn at(addr: &str) -> SocketAddr {
        addr.parse().expect("address")
    }

    #[test]
    fn a_server_is_ours_when_one_of_our_listeners_covers_its_address() {
        for (ours, server) in [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("[::1]:8080", "[::1]:8080"),
            ("127.0.0.1:8080", "[::ffff:127.0.0.1]:8080"),
        ] {
            assert!(
                listened_by_us(&[listening(ours)], at(server)),
                "{ours} for {server}"
            );
        }
        for (ours, server) in [
            // Another port, another address, another family.
            ("127.0.0.1:8081", "127.0.0.1:8080"),
            ("127.0.0.2:8080", "127.0.0.1:8080"),
            ("[::1]:8080", "127.0.0.1:8080"),
            ("127.0.0.1:8080", "[::1]:8080"),
            ("0.0.0.0:8080", "[::1]:8080"),
        ] {
            assert!(
                !listened_by_us(&[listening(ours)], at(server)),
                "{ours} for {server}"
            );
        }
        // A connection of ours on that port is not a listener.
        assert!(!listened_by_us(
            &[connected("127.0.0.1:8080")],
            at("127.0.0.1:8080")
        ));
        // Nothing of ours there: another user's, or root's.
        assert!(!listened_by_us(&[], at("127.0.0.1:8080")));
    }

    #[test]
    fn a_client_end_is_ours_only_when_one_of_our_processes_holds_it() {
        let ours = [connected("127.0.0.1:52000"), listening("127.0.0.1:52001")];
        assert!(held_by_us(&ours, at("127.0.0.1:52000")));
        assert!(held_by_us(&ours, at("[::ffff:127.0.0.1]:52000")));
        assert!(!held_by_us(&ours, at("127.0.0.1:52001")), "a listener");
        assert!(!held_by_us(&ours, at("127.0.0.1:52002")), "not ours");
    }

    #[test]
    fn our_listener_prefers_ipv4() {
        let both = [listening("[::1]:9000"), listening("127.0.0.1:9000")];
        assert_eq!(
            our_listener(&both, 9000),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(
            our_listener(&[listening("[::1]:9000")], 9000),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(our_listener(&both, 9001), None);
        assert!(refusal(at("[::ffff:127.0.0.1]:9000")).contains("127.0.0.1:9000"));
    }
}
