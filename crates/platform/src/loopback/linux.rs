//! The Linux check (the flow is in the parent module's header): where the
//! kernel is asked, what a server end's state means, and the verdict.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::diag::Diag;
use super::trust::trusted;
use super::{
    mapped_v4, table, Foreign, Socket, CLOSE_WAIT, ESTABLISHED, HANDSHAKE_GRACE, LISTEN, SYN_RECV,
};

/// Where questions about sockets are answered: sock_diag, else the table.
pub(super) enum Kernel {
    Diag(Diag),
    Table,
}

impl Kernel {
    pub(super) fn open() -> Self {
        Diag::open().map_or(Self::Table, Self::Diag)
    }

    /// The socket at `local` connected to `remote`, else the listener a
    /// connection from `remote` would reach; `Some(None)` when neither
    /// exists; `None` when no one can tell. sock_diag failing turns to the
    /// table for the rest of this check.
    pub(super) fn find(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<Option<Socket>> {
        if let Self::Diag(diag) = self {
            match diag.find(local, remote) {
                Ok(found) => return Some(found),
                Err(_) => *self = Self::Table,
            }
        }
        table::find(local, remote)
    }

    /// As `find`, for `end` of a connection whose other end is ours (`own`):
    /// sock_diag finding neither does not see this computer's sockets (no
    /// TCP module), so the table is asked instead.
    fn find_end(&mut self, end: SocketAddr, own: SocketAddr) -> Option<Option<Socket>> {
        let found = self.find(end, own);
        if found == Some(None) && matches!(self, Self::Diag(_)) && self.find(own, end) == Some(None)
        {
            *self = Self::Table;
            return self.find(end, own);
        }
        found
    }

    /// The listener a connection from `near` (its address) to `local` reaches.
    fn listener(&mut self, local: SocketAddr, near: IpAddr) -> Option<Socket> {
        // No connection has remote port 0: only a listener answers.
        self.find(local, SocketAddr::new(near, 0))
            .flatten()
            .filter(|socket| socket.state == LISTEN)
    }
}

/// Whether the client's end of a connection from `peer` to one of our
/// listeners at `ours` is foreign (see `client`); `None` when it is not, or
/// when the kernel cannot be asked at all.
pub(super) fn untrusted_peer(ours: SocketAddr, peer: SocketAddr) -> Option<Foreign> {
    if !mapped_v4(peer.ip()).is_loopback() {
        return None;
    }
    client(Kernel::open().find_end(peer, ours)?)
}

/// The verdict on what the kernel found at the client's end: it belongs to
/// the process that connected and holds it (an inode), whatever its TCP
/// state (one that half-closed is in FIN_WAIT and still reads the answer),
/// and that process's user must be trusted. Not found, found without an
/// inode (closed: no process reads, or one hides behind it), or only a
/// listener answering for its address: foreign.
fn client(found: Option<Socket>) -> Option<Foreign> {
    match found {
        Some(end) if end.state != LISTEN && end.inode != 0 => {
            (!trusted(end.uid)).then_some(Foreign::User(end.uid))
        }
        _ => Some(Foreign::Unknown),
    }
}

/// What a server end's state says about who reads from it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum End {
    /// Taken by a process of this user (`accept`); it reads what is sent.
    Taken(u32),
    /// Complete but not yet taken: the listener's owner is shown.
    Waiting(u32),
    /// Not a complete connection yet: half-open, or only the listener
    /// answers (SYN cookies).
    Handshake,
    /// Closed by the server (TIME_WAIT, an orphan): nothing reads.
    Gone,
}

pub(super) fn end(socket: Socket) -> End {
    match socket.state {
        SYN_RECV | LISTEN => End::Handshake,
        ESTABLISHED | CLOSE_WAIT if socket.inode == 0 => End::Waiting(socket.uid),
        _ if socket.inode == 0 => End::Gone,
        _ => End::Taken(socket.uid),
    }
}

pub(super) async fn check_connection(ours: SocketAddr, server: SocketAddr) -> Result<(), String> {
    let mut kernel = Kernel::open();
    let started = Instant::now();
    let mut handshake_since = None;
    loop {
        let Some(socket) = kernel.find_end(server, ours).flatten() else {
            return Ok(());
        };
        match end(socket) {
            End::Taken(uid) => {
                judge(server, uid)?;
                return match kernel.listener(server, ours.ip()) {
                    Some(listener) => judge(server, listener.uid),
                    None => Ok(()),
                };
            }
            End::Waiting(listener) => judge(server, listener)?,
            End::Handshake => {
                // A listener of an untrusted user is refused at once;
                // a trusted one's connection is looked at again, then let
                // through on the listener's word.
                if let Some(listener) = kernel.listener(server, ours.ip()) {
                    judge(server, listener.uid)?;
                }
                let since = *handshake_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= HANDSHAKE_GRACE {
                    return Ok(());
                }
            }
            End::Gone => return Ok(()),
        }
        pause(started).await;
    }
}

/// Between two looks at a connection not yet taken: a server usually takes
/// it within tens of microseconds, so the first looks come at once (the
/// thread yielded to the server between them), then one a millisecond.
async fn pause(started: Instant) {
    if started.elapsed() < Duration::from_micros(500) {
        std::thread::yield_now();
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

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
    for ip in addresses {
        if mapped_v4(ip).is_loopback() {
            check_listener(SocketAddr::new(ip, port))?;
        }
    }
    Ok(())
}

fn check_listener(server: SocketAddr) -> Result<(), String> {
    match Kernel::open().listener(server, server.ip()) {
        Some(listener) => judge(server, listener.uid),
        None => Ok(()),
    }
}

pub(super) fn trusted_listener(port: u16) -> Option<Option<IpAddr>> {
    let mut kernel = Kernel::open();
    let mut known = false;
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let local = SocketAddr::new(ip, port);
        let Some(found) = kernel.find(local, SocketAddr::new(ip, 0)) else {
            continue;
        };
        known = true;
        if found.is_some_and(|socket| socket.state == LISTEN && trusted(socket.uid)) {
            return Some(Some(ip));
        }
    }
    known.then_some(None)
}

fn judge(server: SocketAddr, uid: u32) -> Result<(), String> {
    if trusted(uid) {
        Ok(())
    } else {
        Err(format!(
            "the program answering on {} belongs to another user of this computer (uid {uid}), so Keybearer did not send it your token; run your server as yourself (or as a system service), or use its https:// address",
            SocketAddr::new(mapped_v4(server.ip()), server.port())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(state: u8, uid: u32, inode: u64) -> Socket {
        Socket { state, uid, inode }
    }

    #[test]
    fn a_server_end_is_read_by_whoever_took_it() {
        assert_eq!(end(socket(ESTABLISHED, 65534, 7)), End::Taken(65534));
        assert_eq!(end(socket(ESTABLISHED, 0, 0)), End::Waiting(0));
        // inet_diag shows a request socket with uid 0 and no inode.
        assert_eq!(end(socket(SYN_RECV, 0, 0)), End::Handshake);
        assert_eq!(end(socket(LISTEN, 1000, 5)), End::Handshake);
        assert_eq!(end(socket(6, 0, 0)), End::Gone); // TIME_WAIT
        assert_eq!(end(socket(5, 1000, 0)), End::Gone); // FIN_WAIT2, closed
                                                        // Shut down for writing but still held: still read.
        assert_eq!(end(socket(5, 1000, 9)), End::Taken(1000));
    }

    /// The sign-in listener's verdict fails closed: only a client end held
    /// by a trusted user's process passes, in any TCP state.
    #[test]
    fn a_client_end_counts_only_when_held_by_a_trusted_user() {
        use super::super::trust::{own_uid, NOBODY};
        const FIN_WAIT1: u8 = 4;
        const FIN_WAIT2: u8 = 5;
        const TIME_WAIT: u8 = 6;
        for state in [ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT] {
            assert_eq!(client(Some(socket(state, own_uid(), 9))), None, "{state}");
            assert_eq!(client(Some(socket(state, 0, 9))), None, "root, {state}");
            // Half-closed (`shutdown(SHUT_WR)`) by another user: still judged.
            assert_eq!(
                client(Some(socket(state, NOBODY, 9))),
                Some(Foreign::User(NOBODY)),
                "{state}"
            );
        }
        // No process holds it (closed, TIME_WAIT): whoever it was, refused.
        assert_eq!(
            client(Some(socket(FIN_WAIT2, own_uid(), 0))),
            Some(Foreign::Unknown)
        );
        assert_eq!(
            client(Some(socket(TIME_WAIT, 0, 0))),
            Some(Foreign::Unknown)
        );
        assert_eq!(
            client(Some(socket(ESTABLISHED, own_uid(), 0))),
            Some(Foreign::Unknown)
        );
        // Only a listener answers for its address, or nothing at all.
        assert_eq!(
            client(Some(socket(LISTEN, own_uid(), 9))),
            Some(Foreign::Unknown)
        );
        assert_eq!(client(None), Some(Foreign::Unknown));
    }

    /// Over real sockets: our own client passes while connected and after
    /// half-closing; once closed (no process holds its end), it is refused.
    #[test]
    fn our_own_client_passes_until_it_closes() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client_end = std::net::TcpStream::connect(addr).expect("connect");
        let (server_end, peer) = listener.accept().expect("accept");
        assert_eq!(untrusted_peer(addr, peer), None);
        client_end
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
        let mut byte = [0u8; 1];
        assert_eq!((&server_end).read(&mut byte).expect("the FIN"), 0);
        assert_eq!(untrusted_peer(addr, peer), None, "half-closed, still ours");
        drop(client_end);
        let deadline = Instant::now() + Duration::from_secs(5);
        while untrusted_peer(addr, peer) != Some(Foreign::Unknown) {
            assert!(Instant::now() < deadline, "a closed end still passes");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(server_end);
    }

    #[test]
    fn our_own_connection_passes_and_a_listener_is_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        assert_eq!(check_listener(addr), Ok(()));
        let mut kernel = Kernel::open();
        assert!(
            matches!(kernel, Kernel::Diag(_)),
            "sock_diag available here"
        );
        let found = kernel.listener(addr, addr.ip()).expect("listener");
        assert_eq!(found.uid, super::super::trust::own_uid());
        assert_ne!(found.inode, 0);

        let client = std::net::TcpStream::connect(addr).expect("connect");
        let ours = client.local_addr().expect("local");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // Not taken yet: the check waits for the accept below.
        let accepting = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            listener.accept().expect("accept")
        });
        let started = Instant::now();
        assert_eq!(runtime.block_on(check_connection(ours, addr)), Ok(()));
        assert!(started.elapsed() >= Duration::from_millis(25));
        let (server_end, _) = accepting.join().expect("accepted");
        let taken = kernel.find(addr, ours).flatten().expect("server end");
        assert_eq!(end(taken), End::Taken(super::super::trust::own_uid()));
        drop(server_end);

        // The table tells the same.
        let table = table::find(addr, ours).flatten().expect("in the table");
        assert_eq!(table.uid, taken.uid);
    }

    #[test]
    fn nothing_listening_passes() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("port")
            .port();
        assert_eq!(
            check_listener(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port)),
            Ok(())
        );
        assert_eq!(trusted_listener(port), Some(None));
    }

    /// One owner check's cost, the way the check was made before (the whole
    /// socket table read) and now (sock_diag: a socket opened, the server
    /// end and its listener asked), on the same connection, alternating in
    /// blocks so drift hits both:
    ///
    ///     cargo test -p keybearer-vault --lib loopback::linux::tests::owner_check_timing -- --ignored --nocapture
    #[test]
    #[ignore = "a measurement, not a test"]
    #[allow(clippy::print_stderr)]
    fn owner_check_timing() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = std::net::TcpStream::connect(addr).expect("connect");
        let _server_end = listener.accept().expect("accept");
        let ours = client.local_addr().expect("local");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sockets = ["/proc/net/tcp", "/proc/net/tcp6"]
            .iter()
            .map(|file| std::fs::read_to_string(file).map_or(0, |text| text.lines().count() - 1))
            .sum::<usize>();
        const BLOCKS: u32 = 10;
        const PER_BLOCK: u32 = 50;
        let (mut table_time, mut diag_time) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..BLOCKS {
            let started = Instant::now();
            for _ in 0..PER_BLOCK {
                assert!(table::find(addr, ours).flatten().is_some());
            }
            table_time += started.elapsed();
            let started = Instant::now();
            for _ in 0..PER_BLOCK {
                assert_eq!(runtime.block_on(check_connection(ours, addr)), Ok(()));
            }
            diag_time += started.elapsed();
        }
        let each = |total: Duration| total / (BLOCKS * PER_BLOCK);
        eprintln!(
            "one owner check with {sockets} TCP sockets on this computer: table read {:?}, sock_diag {:?}",
            each(table_time),
            each(diag_time)
        );
    }
}
