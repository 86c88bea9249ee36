//! The loopback check on macOS (docs/architecture.md, "Proxy"): the TCP
//! sockets of our own processes, listed afresh for each question with the
//! `listeners` crate (`proc_pidfdinfo` for every process, behind a safe
//! interface; the workspace forbids `unsafe`), judged by `own_sockets`.
//! **Never run on a Mac**: compile-checked only.
//!
//! The flow: a server address on this computer is trusted only when one of
//! our own programs listens on it (macOS lists only our own user's
//! sockets); a connection is judged by its listener, before anything is
//! written to it; a sign-in's client is trusted only when one of our
//! programs holds its end.
//!
//! Limits: listing every process's sockets takes milliseconds, not
//! microseconds, and blocks the caller that long (once per new connection
//! to a loopback server); which process took a connection is not known
//! (the listener decides); run as root, Keybearer sees every user's sockets
//! without their users, so it refuses every loopback server and sign-in
//! client rather than guess.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::own_sockets::{held_by_us, listened_by_us, our_listener, refusal, OwnSocket};
use super::{mapped_v4, Foreign};

/// Our own processes' TCP sockets, or `None` when they cannot be listed or
/// would not be only ours (run as root).
fn own_sockets() -> Option<Vec<OwnSocket>> {
    if nix::unistd::geteuid().is_root() {
        return None;
    }
    match listeners::get_all() {
        Ok(all) => Some(
            all.into_iter()
                .filter(|listener| listener.protocol == listeners::Protocol::TCP)
                .map(|listener| OwnSocket {
                    local: listener.socket,
                    listening: listener.state == listeners::SocketState::Listen,
                })
                .collect(),
        ),
        Err(error) => {
            tracing::warn!(%error, "could not list this user's sockets");
            None
        }
    }
}

fn check_listener(server: SocketAddr) -> Result<(), String> {
    match own_sockets() {
        Some(sockets) if listened_by_us(&sockets, server) => Ok(()),
        _ => Err(refusal(server)),
    }
}

pub(super) async fn check_connection(_ours: SocketAddr, server: SocketAddr) -> Result<(), String> {
    check_listener(server)
}

/// Before connecting: refused when something answers on a loopback
/// address of the URL and no program of ours listens there; nothing
/// answering is left to the connection's own error.
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
    let sockets = own_sockets();
    for ip in addresses {
        let server = SocketAddr::new(ip, port);
        if !mapped_v4(ip).is_loopback()
            || sockets
                .as_deref()
                .is_some_and(|sockets| listened_by_us(sockets, server))
        {
            continue;
        }
        let answers =
            std::net::TcpStream::connect_timeout(&server, std::time::Duration::from_millis(300))
                .is_ok();
        if answers {
            return Err(refusal(server));
        }
    }
    Ok(())
}

/// Where our own server listens at `port`; `None` when no program of ours
/// does (nobody, or someone this user cannot see: not known).
pub(super) fn trusted_listener(port: u16) -> Option<Option<IpAddr>> {
    our_listener(&own_sockets()?, port).map(Some)
}

pub(super) fn untrusted_peer(peer: SocketAddr) -> Option<Foreign> {
    if !mapped_v4(peer.ip()).is_loopback() {
        return None;
    }
    match own_sockets() {
        Some(sockets) if held_by_us(&sockets, peer) => None,
        _ => Some(Foreign::Unknown),
    }
}
