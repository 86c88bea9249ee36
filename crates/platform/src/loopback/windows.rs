//! The loopback check on Windows (docs/architecture.md, "Proxy"): the
//! computer's TCP table with both ends of each socket and the process
//! holding it, read afresh for each question (`netstat2`:
//! `GetExtendedTcpTable` with owning process ids, behind a safe interface;
//! the workspace forbids `unsafe`), and the user each of those processes
//! runs as (`crate::process`). The decisions are `windows_rules`.
//!
//! The flow, for each new connection to a loopback server, before anything
//! is written to it: every listener that takes connections to the server's
//! address must be a process of our own user (and there must be one):
//! Windows hands a connection to the most specific listener, so another
//! user's program on `127.0.0.1:PORT` would answer in place of our server
//! on `0.0.0.0:PORT`; and the server's end of this very connection, where
//! the table shows it, must be held by a process of ours. A sign-in's
//! client counts only when its end of that connection is held by a process
//! of ours.
//!
//! Where Windows does not say who holds sockets — it names no process for
//! a listener of our own (Wine 8 names none at all) — the check cannot be
//! made and is left out, with a warning in the log, as on Linux where the
//! kernel cannot be asked.
//!
//! Limits: a process whose user Windows does not tell us (another person's,
//! a service's, the system's — `HTTP.sys` servers show as the System
//! process) is not ours, so servers run by services or by the system are
//! refused where Linux trusts root and system accounts; reading the table
//! and the users takes milliseconds and blocks the caller that long.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};

use super::windows_rules::{covering, end_ours, only_ours_listen, refusal, server_end_ours, Row};
use super::{mapped_v4, Foreign};

/// Every TCP socket with its owning processes, or `None` when the table
/// cannot be read.
fn table() -> Option<Vec<(Row, Vec<u32>)>> {
    let sockets = match netstat2::get_sockets_info(
        AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
        ProtocolFlags::TCP,
    ) {
        Ok(sockets) => sockets,
        Err(error) => {
            tracing::warn!(%error, "could not read the computer's TCP table");
            return None;
        }
    };
    Some(
        sockets
            .into_iter()
            .filter_map(|socket| match socket.protocol_socket_info {
                ProtocolSocketInfo::Tcp(tcp) => Some((
                    Row {
                        local: SocketAddr::new(tcp.local_addr, tcp.local_port),
                        remote: SocketAddr::new(tcp.remote_addr, tcp.remote_port),
                        listening: tcp.state == TcpState::Listen,
                        ours: false,
                    },
                    socket.associated_pids,
                )),
                ProtocolSocketInfo::Udp(_) => None,
            })
            .collect(),
    )
}

/// The TCP table with each row marked ours when every process holding it
/// (and there is one) runs as our user.
fn rows() -> Option<Vec<Row>> {
    let table = table()?;
    let own = crate::process::own_user()?;
    let mut pids: Vec<u32> = table
        .iter()
        .flat_map(|(_, pids)| pids.iter().copied())
        .filter(|pid| *pid != 0)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    let users: HashMap<u32, String> = crate::process::users_of(&pids);
    Some(
        table
            .into_iter()
            .map(|(row, pids)| Row {
                ours: !pids.is_empty() && pids.iter().all(|pid| users.get(pid) == Some(&own)),
                ..row
            })
            .collect(),
    )
}

/// Whether Windows names the processes that hold sockets: it must name
/// this process for a listener this process just made. Asked once.
fn owners_reported() -> bool {
    static REPORTED: OnceLock<bool> = OnceLock::new();
    *REPORTED.get_or_init(|| {
        let reported = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|probe| probe.local_addr())
            .ok()
            .zip(table())
            .is_some_and(|(probe, table)| {
                table.iter().any(|(row, pids)| {
                    row.listening && row.local == probe && pids.contains(&std::process::id())
                })
            });
        if !reported {
            tracing::warn!(
                "Windows does not say which process holds each socket here, so loopback servers' owners are not checked"
            );
        }
        reported
    })
}

pub(super) async fn check_connection(ours: SocketAddr, server: SocketAddr) -> Result<(), String> {
    if !owners_reported() {
        return Ok(());
    }
    match rows() {
        Some(rows) if only_ours_listen(&rows, server) && server_end_ours(&rows, server, ours) => {
            Ok(())
        }
        _ => Err(refusal(server)),
    }
}

/// Before connecting: refused when something listens on a loopback address
/// of the URL that is not only ours; nothing listening is left to the
/// connection's own error.
pub(super) fn check_url_listeners(url: &url::Url) -> Result<(), String> {
    let Some(port) = url.port_or_known_default() else {
        return Ok(());
    };
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![ip.into()],
        Some(url::Host::Ipv6(ip)) => vec![ip.into()],
        Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
            vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
        }
        // Another name is checked when connected, if it leads here.
        Some(url::Host::Domain(_)) | None => Vec::new(),
    };
    let servers: Vec<SocketAddr> = addresses
        .into_iter()
        .filter(|ip| mapped_v4(*ip).is_loopback())
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    let Some(first) = servers.first() else {
        return Ok(());
    };
    if !owners_reported() {
        return Ok(());
    }
    let Some(rows) = rows() else {
        return Err(refusal(*first));
    };
    for server in servers {
        if covering(&rows, server).next().is_some() && !only_ours_listen(&rows, server) {
            return Err(refusal(server));
        }
    }
    Ok(())
}

/// Where our own server (and no one else's) listens at `port`: IPv4
/// first, else IPv6; `Some(None)` when nothing listens there at all;
/// `None` when this cannot be known or someone else listens.
pub(super) fn trusted_listener(port: u16) -> Option<Option<IpAddr>> {
    if !owners_reported() {
        return None;
    }
    let rows = rows()?;
    let candidates = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    if let Some(ip) = candidates
        .into_iter()
        .find(|ip| only_ours_listen(&rows, SocketAddr::new(*ip, port)))
    {
        return Some(Some(ip));
    }
    let anyone = candidates
        .into_iter()
        .any(|ip| covering(&rows, SocketAddr::new(ip, port)).next().is_some());
    (!anyone).then_some(None)
}

/// A sign-in's client at `peer`, connected to our socket at `ours`.
pub(super) fn untrusted_peer(ours: SocketAddr, peer: SocketAddr) -> Option<Foreign> {
    if !mapped_v4(peer.ip()).is_loopback() || !owners_reported() {
        return None;
    }
    match rows() {
        Some(rows) if end_ours(&rows, peer, ours) => None,
        _ => Some(Foreign::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real table (under Wine or Windows) lists our listener and both
    /// ends of our connection; where it names their processes they are
    /// ours, where it names none (Wine 8) the check is left out.
    #[test]
    fn the_real_table_shows_our_sockets() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("address");
        let client = std::net::TcpStream::connect(server).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        let ours = client.local_addr().expect("our end");
        let table = table().expect("the TCP table");
        let find = |local: SocketAddr, remote: Option<SocketAddr>| {
            table.iter().find(|(row, _)| {
                row.local == local && remote.is_none_or(|remote| row.remote == remote)
            })
        };
        let (listening, _) = find(server, None).expect("our listener in the table");
        assert!(listening.listening);
        assert!(find(ours, Some(server)).is_some(), "our client's end");
        assert!(find(server, Some(ours)).is_some(), "the server's end");
        let url = url::Url::parse(&format!("http://localhost:{}/mcp", server.port())).expect("url");
        if owners_reported() {
            let rows = rows().expect("rows");
            assert!(only_ours_listen(&rows, server), "{rows:?}");
            assert!(server_end_ours(&rows, server, ours));
            assert_eq!(trusted_listener(server.port()), Some(Some(server.ip())));
            assert_eq!(untrusted_peer(server, ours), None);
        } else {
            assert_eq!(trusted_listener(server.port()), None);
            assert_eq!(untrusted_peer(server, ours), None);
        }
        assert!(check_url_listeners(&url).is_ok());
        drop((accepted, client, listener));
    }
}
