//! One TCP socket, asked of the kernel by its addresses: a `NETLINK_SOCK_DIAG`
//! socket, one `SOCK_DIAG_BY_FAMILY` request (`inet_diag_req_v2`) naming a
//! local and a remote end, as `ss` asks about one socket. The kernel looks
//! it up as it does for an arriving packet: the connection with exactly
//! these ends (a half-open one and TIME_WAIT included), or when there is
//! none, the listener that a connection from `remote` to `local` would
//! reach. It answers with the socket's state, owner and inode (one
//! `inet_diag_msg`), or `ENOENT`. A few microseconds whatever the number of
//! sockets on the computer (reading `/proc/net/tcp` costs milliseconds).
//!
//! The messages are the `netlink-packet-sock-diag` crate's; the socket is
//! nix's. Only the answer's fixed part is read (its attributes are not
//! needed).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use netlink_packet_core::{
    ErrorBuffer, NetlinkBuffer, NetlinkHeader, NetlinkMessage, Parseable, NLMSG_ERROR,
    NLM_F_REQUEST,
};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, SOCK_DIAG_BY_FAMILY};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags,
};
use netlink_packet_sock_diag::SockDiagMessage;
use nix::sys::socket::{
    recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

use super::{mapped_v4, Socket};

/// An open sock_diag socket; one question at a time.
pub(super) struct Diag {
    socket: OwnedFd,
    sequence: u32,
}

impl Diag {
    /// Fails where the kernel or a sandbox does not allow such sockets.
    pub(super) fn open() -> io::Result<Self> {
        let socket = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkSockDiag,
        )?;
        Ok(Self {
            socket,
            sequence: 0,
        })
    }

    /// The socket at `local` connected to `remote`, else the listener a
    /// connection from `remote` would reach; `None` when there is neither.
    pub(super) fn find(
        &mut self,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> io::Result<Option<Socket>> {
        self.sequence = self.sequence.wrapping_add(1);
        let request = encode(local, remote, self.sequence);
        let kernel = NetlinkAddr::new(0, 0);
        sendto(
            self.socket.as_raw_fd(),
            &request,
            &kernel,
            MsgFlags::empty(),
        )?;
        let mut answer = [0u8; 2048];
        // An answer to an earlier question (none is expected) is skipped.
        loop {
            let length = recv(self.socket.as_raw_fd(), &mut answer, MsgFlags::empty())?;
            let bytes = answer.get(..length).unwrap_or_default();
            if let Some(found) = decode(bytes, self.sequence)? {
                return Ok(found);
            }
        }
    }
}

/// The request: one socket of `local`'s family named by both ends, any
/// state, no extra attributes, and the "any cookie" cookie. Addresses
/// written IPv4 when both are (IPv4-mapped IPv6 included), as the kernel
/// itself looks such a pair up.
pub(super) fn encode(local: SocketAddr, remote: SocketAddr, sequence: u32) -> Vec<u8> {
    let (family, local_ip, remote_ip) = match (mapped_v4(local.ip()), mapped_v4(remote.ip())) {
        (local @ IpAddr::V4(_), remote @ IpAddr::V4(_)) => (AF_INET, local, remote),
        _ => (AF_INET6, to_v6(local.ip()), to_v6(remote.ip())),
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST;
    header.sequence_number = sequence;
    let mut message = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id: SocketId {
                source_port: local.port(),
                destination_port: remote.port(),
                source_address: local_ip,
                destination_address: remote_ip,
                interface_id: 0,
                // INET_DIAG_NOCOOKIE twice: any socket with these ends.
                cookie: [0xff; 8],
            },
        })
        .into(),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

fn to_v6(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        v6 => v6,
    }
}

/// The kernel's answer to question `sequence`: `Some(Some(socket))`, or
/// `Some(None)` for `ENOENT` (no such socket); `None` for an answer to
/// another question. Any other error or a malformed answer is an error.
pub(super) fn decode(bytes: &[u8], sequence: u32) -> io::Result<Option<Option<Socket>>> {
    let malformed = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let message =
        NetlinkBuffer::new_checked(bytes).map_err(|error| malformed(error.to_string()))?;
    if message.sequence_number() != sequence {
        return Ok(None);
    }
    match message.message_type() {
        NLMSG_ERROR => {
            let error = ErrorBuffer::new_checked(message.payload())
                .map_err(|error| malformed(error.to_string()))?;
            match error.code().map(|code| -code.get()) {
                Some(libc_enoent) if libc_enoent == nix::errno::Errno::ENOENT as i32 => {
                    Ok(Some(None))
                }
                Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                None => Err(malformed("an acknowledgement instead of an answer".into())),
            }
        }
        SOCK_DIAG_BY_FAMILY => {
            let header = InetResponseHeader::parse(message.payload())
                .map_err(|error| malformed(error.to_string()))?;
            Ok(Some(Some(Socket {
                state: header.state,
                uid: header.uid,
                inode: u64::from(header.inode),
            })))
        }
        other => Err(malformed(format!("an answer of type {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `struct nlmsghdr` then `struct inet_diag_req_v2`, as in the kernel's
    /// headers: lengths and types in this machine's byte order, ports and
    /// addresses in the network's.
    #[test]
    fn encodes_one_socket_by_its_four_ends() {
        let bytes = encode(
            "127.0.0.1:8080".parse().expect("addr"),
            "127.0.0.1:50000".parse().expect("addr"),
            7,
        );
        assert_eq!(bytes.len(), 16 + 56);
        assert_eq!(bytes[0..4], 72u32.to_ne_bytes());
        assert_eq!(bytes[4..6], 20u16.to_ne_bytes()); // SOCK_DIAG_BY_FAMILY
        assert_eq!(bytes[6..8], 1u16.to_ne_bytes()); // NLM_F_REQUEST, no dump
        assert_eq!(bytes[8..12], 7u32.to_ne_bytes());
        let request = &bytes[16..];
        assert_eq!(request[0], 2); // AF_INET
        assert_eq!(request[1], 6); // IPPROTO_TCP
        assert_eq!(request[2], 0); // no extensions
                                   // Every state the crate names (an exact lookup does not filter by state).
        assert_eq!(request[4..8], 0xffeu32.to_ne_bytes());
        assert_eq!(request[8..10], 8080u16.to_be_bytes());
        assert_eq!(request[10..12], 50000u16.to_be_bytes());
        assert_eq!(request[12..16], [127, 0, 0, 1]);
        assert_eq!(request[16..28], [0; 12]);
        assert_eq!(request[28..32], [127, 0, 0, 1]);
        assert_eq!(request[44..48], [0; 4]); // any interface
        assert_eq!(request[48..56], [0xff; 8]);

        // An IPv4-mapped pair is asked as IPv4; ::1 as IPv6.
        let mapped = encode(
            "[::ffff:127.0.0.1]:8080".parse().expect("addr"),
            "[::ffff:127.0.0.1]:1".parse().expect("addr"),
            1,
        );
        assert_eq!(mapped[16], 2);
        let v6 = encode(
            "[::1]:8080".parse().expect("addr"),
            "[::1]:0".parse().expect("addr"),
            1,
        );
        assert_eq!(v6[16], 10); // AF_INET6
        assert_eq!(v6[16 + 12..16 + 28], std::net::Ipv6Addr::LOCALHOST.octets());
    }

    fn answer(kind: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&0u16.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }

    #[test]
    fn decodes_the_owner_the_state_and_the_errors() {
        // struct inet_diag_msg: family, state, timer, retrans, the socket
        // id (48 bytes), expires, rqueue, wqueue, uid, inode; then an
        // attribute (INET_DIAG_SHUTDOWN), which is not read.
        let mut found = vec![2, 1, 0, 0];
        found.extend_from_slice(&[0; 48]);
        found.extend_from_slice(&[0; 12]);
        found.extend_from_slice(&65534u32.to_ne_bytes());
        found.extend_from_slice(&90232u32.to_ne_bytes());
        found.extend_from_slice(&[5, 0, 8, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode(&answer(20, 3, &found), 3).expect("answer"),
            Some(Some(Socket {
                state: 1,
                uid: 65534,
                inode: 90232
            }))
        );
        // Another question's answer is skipped.
        assert_eq!(decode(&answer(20, 2, &found), 3).expect("answer"), None);

        let error = |errno: i32| {
            let mut payload = (-errno).to_ne_bytes().to_vec();
            payload.extend_from_slice(&[0; 16]); // the request's header
            answer(2, 3, &payload)
        };
        assert_eq!(decode(&error(2), 3).expect("ENOENT"), Some(None));
        let refused = decode(&error(1), 3).expect_err("EPERM");
        assert_eq!(refused.raw_os_error(), Some(1));
        assert!(decode(&answer(20, 3, &[2, 1]), 3).is_err(), "too short");
        assert!(decode(&[1, 2, 3], 3).is_err());
    }
}
