//! The private line between the command line and the running desktop app
//! for approvals (docs/architecture.md, "User presence").
//!
//! The app listens on `approval.sock` in the data folder (a `0700` folder;
//! the socket itself `0600`), so only the user's own processes outside any
//! sandbox can reach it — a sandboxed session's data folder is hidden. Both
//! ends check that the other runs as the same user, from the peer identity
//! the kernel keeps for the socket (`keybearer_platform::peer`: `SO_PEERCRED`
//! on Linux, `LOCAL_PEERCRED`/`LOCAL_PEERPID` on macOS). The CLI
//! sends one JSON line, an [`ApprovalRequest`], and waits for one line back,
//! `{"approved": true|false}`; the app names the asking process from the
//! socket's peer credentials, not from anything the client claims, and
//! drops, unasked, a request from a process inside a running session: the
//! command line refuses itself there, but that check runs in a process an
//! unsandboxed agent starts and so can tamper with (`LD_PRELOAD`, its own
//! client); this one runs in the app. A closed connection without an
//! answer is a refusal.
//!
//! Limits: one app per data folder answers (a second one finds the socket
//! answered and does not take it over); a socket left by an app that was
//! killed is replaced by the next app (nobody answers on it). The asker's
//! command line is read from `/proc` (Linux); elsewhere only its process id
//! is shown.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::presence::{asker_inside_session, command_text, ApprovalRequest};
use keybearer_base::error::{Error, Result};

/// The socket's file name in the data folder.
pub const APPROVAL_SOCKET: &str = "approval.sock";
/// The most a request may take on the wire.
const MAX_REQUEST: u64 = 64 * 1024;

#[derive(Serialize, Deserialize)]
struct Answer {
    approved: bool,
}

fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(APPROVAL_SOCKET)
}

/// The process at the other end, when it runs as this user.
fn same_user_peer(stream: &UnixStream) -> Result<u32> {
    let peer = keybearer_platform::peer::unix_peer(stream)?;
    if !peer.is_same_user() {
        return Err(Error::NotApproved(
            "Another user's program answered on Keybearer's approval socket, so it was not asked. Check who can write to your Keybearer data folder.".into(),
        ));
    }
    Ok(peer.pid.unwrap_or(0))
}

/// Asks the running desktop app to approve `request`; waits up to `limit`
/// for the person's answer (`asked` runs once the app has the question).
/// `Ok(None)` when no app listens.
pub fn ask_app(
    data_dir: &Path,
    request: &ApprovalRequest,
    limit: Duration,
    asked: impl FnOnce(),
) -> Result<Option<bool>> {
    let mut stream = match UnixStream::connect(socket_path(data_dir)) {
        Ok(stream) => stream,
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(error) => return Err(error.into()),
    };
    same_user_peer(&stream)?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    asked();
    stream.set_read_timeout(Some(limit))?;
    let mut answer = String::new();
    match BufReader::new(stream.take(1024)).read_line(&mut answer) {
        Ok(_) => {}
        Err(error)
            if matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            return Err(Error::NotApproved(format!(
                "Nobody answered the approval in the Keybearer window within {} minutes, so the agent was not started.",
                limit.as_secs().div_ceil(60)
            )))
        }
        Err(error) => return Err(error.into()),
    }
    // A connection closed without an answer (the app quit) is a refusal.
    Ok(Some(
        serde_json::from_str::<Answer>(answer.trim()).is_ok_and(|answer| answer.approved),
    ))
}

/// The app's end: hands out each approval request as it comes.
pub struct ApprovalListener {
    listener: UnixListener,
    path: PathBuf,
    data_dir: PathBuf,
}

/// Someone asking for an approval: what, and who.
pub struct Asked {
    pub request: ApprovalRequest,
    /// The asking process's id and command line, as the system reports them.
    pub pid: u32,
    pub command: String,
    stream: UnixStream,
}

impl ApprovalListener {
    /// Listens in `data_dir`. Fails when another app already answers there.
    pub fn bind(data_dir: &Path) -> Result<Self> {
        let path = socket_path(data_dir);
        if UnixStream::connect(&path).is_ok() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another Keybearer window already answers approvals for this data folder",
            )));
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(Self {
            listener,
            path,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Waits for the next well-formed request from a process of this user.
    /// Anything else is dropped unanswered (the asker treats that as no).
    pub fn next(&self) -> Result<Asked> {
        loop {
            let (stream, _) = self.listener.accept()?;
            match read_request(&self.data_dir, stream) {
                Ok(asked) => return Ok(asked),
                Err(error) => tracing::warn!(code = %error.code(), "approval request dropped"),
            }
        }
    }
}

impl Drop for ApprovalListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a request may take to arrive, in all: a client that sends it a
/// byte at a time cannot hold up the requests behind it.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

fn read_request(data_dir: &Path, stream: UnixStream) -> Result<Asked> {
    let pid = same_user_peer(&stream)?;
    if asker_inside_session(data_dir, pid)? {
        return Err(Error::NotApproved(format!(
            "process {pid} runs inside a Keybearer session and may not ask for direct mode"
        )));
    }
    let deadline = std::time::Instant::now() + REQUEST_DEADLINE;
    let mut line = Vec::new();
    let mut chunk = [0u8; 4096];
    while !line.contains(&b'\n') {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || line.len() as u64 > MAX_REQUEST {
            return Err(Error::invalid("approval", "no whole request in time"));
        }
        stream.set_read_timeout(Some(left))?;
        match (&stream).read(&mut chunk)? {
            0 => break,
            read => line.extend_from_slice(&chunk[..read]),
        }
    }
    let line = line.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let request: ApprovalRequest = serde_json::from_slice(line)
        .map_err(|_| Error::invalid("approval", "not an approval request"))?;
    stream.set_read_timeout(None)?;
    Ok(Asked {
        request,
        pid,
        command: command_line(pid),
        stream,
    })
}

/// A process's command line, arguments separated by spaces, shortened.
fn command_line(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    command_text(
        raw.split(|byte| *byte == 0)
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect(),
    )
}

impl Asked {
    /// Sends the person's answer; the asker may have given up meanwhile.
    pub fn answer(mut self, approved: bool) {
        let mut line = serde_json::to_vec(&Answer { approved }).unwrap_or_default();
        line.push(b'\n');
        let _ = self.stream.write_all(&line);
    }

    /// Whether the asker hung up (gave up, was stopped) before an answer.
    pub fn gone(&self) -> bool {
        use nix::sys::socket::{recv, MsgFlags};
        use std::os::fd::AsRawFd;
        let mut byte = [0u8; 1];
        match recv(
            self.stream.as_raw_fd(),
            &mut byte,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => true,
            Ok(_) => false,
            Err(errno) => errno != nix::errno::Errno::EAGAIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ApprovalRequest {
        ApprovalRequest {
            program: "claude".into(),
            vaults: vec!["Dev".into()],
            environment: "development".into(),
        }
    }

    #[test]
    fn no_app_no_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            ask_app(dir.path(), &request(), Duration::from_secs(1), || {}).expect("ask"),
            None
        );
    }

    #[test]
    fn the_app_answers_and_names_the_asker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = ApprovalListener::bind(dir.path()).expect("bind");
        let mode = std::fs::metadata(dir.path().join(APPROVAL_SOCKET))
            .expect("socket")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A second app for the same folder does not take it over.
        assert!(ApprovalListener::bind(dir.path()).is_err());
        for approved in [true, false] {
            let server = std::thread::scope(|scope| {
                let asker =
                    scope.spawn(|| ask_app(dir.path(), &request(), Duration::from_secs(10), || {}));
                let asked = listener.next().expect("asked");
                assert_eq!(asked.request, request());
                assert_eq!(asked.pid, std::process::id());
                assert!(!asked.command.is_empty());
                assert!(!asked.gone());
                asked.answer(approved);
                asker.join().expect("join").expect("ask")
            });
            assert_eq!(server, Some(approved));
        }
        // An asker that gives up is noticed; a closed app is a refusal.
        let asked = std::thread::scope(|scope| {
            let asker =
                scope.spawn(|| ask_app(dir.path(), &request(), Duration::from_millis(300), || {}));
            let asked = listener.next().expect("asked");
            let outcome = asker.join().expect("join");
            assert_eq!(
                outcome.expect_err("timed out").code(),
                keybearer_base::ErrorCode::NotApproved
            );
            asked
        });
        assert!(asked.gone());
        drop(listener);
        assert!(!dir.path().join(APPROVAL_SOCKET).exists());
    }

    #[test]
    fn a_client_that_dribbles_is_dropped_after_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = ApprovalListener::bind(dir.path()).expect("bind");
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut slow = UnixStream::connect(dir.path().join(APPROVAL_SOCKET)).expect("c");
                // A byte a second, never a whole line.
                for _ in 0..10 {
                    if slow.write_all(b"{").is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                assert_eq!(
                    ask_app(dir.path(), &request(), Duration::from_secs(20), || {}).expect("ask"),
                    Some(true)
                );
            });
            listener.next().expect("the good one").answer(true);
        });
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_secs(9),
            "the slow client held the socket for {waited:?}"
        );
    }

    #[test]
    fn a_stale_socket_is_replaced_and_garbage_gets_no_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(UnixListener::bind(dir.path().join(APPROVAL_SOCKET)).expect("stale"));
        let listener = ApprovalListener::bind(dir.path()).expect("bind over a stale socket");
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut junk = UnixStream::connect(dir.path().join(APPROVAL_SOCKET)).expect("c");
                junk.write_all(b"not json\n").expect("write");
                let mut rest = Vec::new();
                // Dropped unanswered.
                assert_eq!(junk.read_to_end(&mut rest).expect("read"), 0);
                assert_eq!(
                    ask_app(dir.path(), &request(), Duration::from_secs(10), || {}).expect("ask"),
                    Some(false)
                );
            });
            listener.next().expect("the good one").answer(false);
        });
    }
}
