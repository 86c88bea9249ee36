//! What Windows' TCP table says about a loopback server or a sign-in's
//! client (docs/architecture.md, "Proxy"): pure decisions over rows already
//! marked ours or not (`windows` reads the table). Built and tested on
//! every system; only Windows asks them.
//!
//! - A server address is ours when at least one listener takes connections
//!   to it and every such listener is a process of ours: Windows gives a
//!   connection to the most specific listener, so one of another user's on
//!   the exact address would answer in place of ours on the wildcard.
//! - The server's end of a connection (its local address is the server's,
//!   its remote ours) must be ours where the table shows it; gone, it
//!   receives nothing.
//! - A client's end (local = the client, remote = our listener's socket)
//!   is ours only when the table shows it held by a process of ours: not
//!   found, closed (`TIME_WAIT` names no process) or another's is foreign.

use std::net::SocketAddr;

use super::mapped_v4;
use super::own_sockets::covers;

/// One TCP socket of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row {
    pub(super) local: SocketAddr,
    pub(super) remote: SocketAddr,
    pub(super) listening: bool,
    /// Every process holding it (at least one) runs as our user.
    pub(super) ours: bool,
}

fn same(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && mapped_v4(a.ip()) == mapped_v4(b.ip())
}

/// The listeners that take connections to `server`.
pub(super) fn covering(rows: &[Row], server: SocketAddr) -> impl Iterator<Item = &Row> {
    rows.iter()
        .filter(move |row| row.listening && covers(row.local, server))
}

/// Whether `server` is reached only by listeners of ours (and at least one).
pub(super) fn only_ours_listen(rows: &[Row], server: SocketAddr) -> bool {
    let mut listeners = covering(rows, server).peekable();
    listeners.peek().is_some() && listeners.all(|row| row.ours)
}

/// Whether the server's end of our connection from `ours` to `server` is
/// ours, or not in the table at all (gone: it receives nothing).
pub(super) fn server_end_ours(rows: &[Row], server: SocketAddr, ours: SocketAddr) -> bool {
    rows.iter()
        .filter(|row| !row.listening && same(row.local, server) && same(row.remote, ours))
        .all(|row| row.ours)
}

/// Whether the client's end at `end`, connected to our socket `ours`, is
/// held by a process of ours.
pub(super) fn end_ours(rows: &[Row], end: SocketAddr, ours: SocketAddr) -> bool {
    let mut holding = rows
        .iter()
        .filter(|row| !row.listening && same(row.local, end) && same(row.remote, ours))
        .peekable();
    holding.peek().is_some() && holding.all(|row| row.ours)
}

/// Why nothing is sent to `server`.
pub(super) fn refusal(server: SocketAddr) -> String {
    format!(
        "the program answering on {} does not run as you (or Windows would not say whose it is), so Keybearer did not send it your token; run your server as yourself, or use its https:// address",
        SocketAddr::new(mapped_v4(server.ip()), server.port())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str) -> SocketAddr {
        addr.parse().expect("address")
    }

    fn listening(addr: &str, ours: bool) -> Row {
        Row {
            local: at(addr),
            remote: at("0.0.0.0:0"),
            listening: true,
            ours,
        }
    }

    fn connected(local: &str, remote: &str, ours: bool) -> Row {
        Row {
            local: at(local),
            remote: at(remote),
            listening: false,
            ours,
        }
    }

    #[test]
    fn a_server_is_ours_only_when_no_one_else_listens_there_too() {
        let server = at("127.0.0.1:8080");
        assert!(only_ours_listen(&[listening("0.0.0.0:8080", true)], server));
        assert!(only_ours_listen(&[listening("[::]:8080", true)], server));
        // Nobody listens, or only someone else.
        assert!(!only_ours_listen(&[], server));
        assert!(!only_ours_listen(
            &[listening("127.0.0.1:8080", false)],
            server
        ));
        // Ours on the wildcard, another user's on the exact address (which
        // Windows would hand the connection to): refused.
        assert!(!only_ours_listen(
            &[
                listening("0.0.0.0:8080", true),
                listening("127.0.0.1:8080", false)
            ],
            server
        ));
        // Someone else's connection on that port is not a listener.
        assert!(only_ours_listen(
            &[
                listening("127.0.0.1:8080", true),
                connected("127.0.0.1:8080", "127.0.0.1:50000", false)
            ],
            server
        ));
        assert!(!only_ours_listen(
            &[listening("127.0.0.1:8081", true)],
            server
        ));
        assert!(!only_ours_listen(&[listening("[::1]:8080", true)], server));
    }

    #[test]
    fn the_server_end_of_our_connection_must_be_ours_where_shown() {
        let (server, ours) = (at("127.0.0.1:8080"), at("127.0.0.1:50000"));
        let end = |owned| connected("127.0.0.1:8080", "127.0.0.1:50000", owned);
        assert!(server_end_ours(&[end(true)], server, ours));
        assert!(!server_end_ours(&[end(false)], server, ours));
        // Gone: nothing receives what we would send.
        assert!(server_end_ours(&[], server, ours));
        // Another connection's server end does not count.
        assert!(server_end_ours(
            &[connected("127.0.0.1:8080", "127.0.0.1:50001", false)],
            server,
            ours
        ));
        assert!(server_end_ours(
            &[end(true)],
            at("[::ffff:127.0.0.1]:8080"),
            ours
        ));
    }

    #[test]
    fn a_client_end_is_ours_only_when_a_process_of_ours_holds_it() {
        let (end, ours) = (at("127.0.0.1:52000"), at("127.0.0.1:9000"));
        assert!(end_ours(
            &[connected("127.0.0.1:52000", "127.0.0.1:9000", true)],
            end,
            ours
        ));
        assert!(end_ours(
            &[connected("127.0.0.1:52000", "127.0.0.1:9000", true)],
            at("[::ffff:127.0.0.1]:52000"),
            ours
        ));
        // Another's; closed (TIME_WAIT names no process); missing; another
        // connection from the same port; a listener.
        assert!(!end_ours(
            &[connected("127.0.0.1:52000", "127.0.0.1:9000", false)],
            end,
            ours
        ));
        assert!(!end_ours(&[], end, ours));
        assert!(!end_ours(
            &[connected("127.0.0.1:52000", "127.0.0.1:9001", true)],
            end,
            ours
        ));
        assert!(!end_ours(&[listening("127.0.0.1:52000", true)], end, ours));
        assert!(refusal(at("[::ffff:127.0.0.1]:9000")).contains("127.0.0.1:9000"));
    }
}
