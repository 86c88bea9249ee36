//! A private named pipe on Windows (docs/architecture.md, "User presence"):
//! what the approval channel runs on where there are no Unix sockets, with
//! what Linux gets from `SO_PEERCRED`: who is at the other end.
//!
//! - The pipe is created with a security descriptor whose access list
//!   (`D:P(A;;GA;;;<our SID>)`, protected from inherited entries) names only
//!   the user Keybearer runs as: another user's program cannot open it at
//!   all. It refuses clients from other computers
//!   (`PIPE_REJECT_REMOTE_CLIENTS`), and the first instance is made with
//!   `FILE_FLAG_FIRST_PIPE_INSTANCE`, so a program that created the name
//!   first makes [`listen`] fail instead of sharing it.
//! - Each connection carries the other end's process id as Windows records
//!   it (`GetNamedPipeClientProcessId` / `GetNamedPipeServerProcessId`), not
//!   as the other end claims; the caller checks that process (its user, and
//!   whether it runs inside a session) with [`crate::process`].
//!
//! Through `interprocess` (Tokio's named pipes, with the security
//! descriptor and the ids behind a safe interface; the workspace forbids
//! `unsafe`). Call from inside a Tokio runtime.
//!
//! Limits: a process id names the process that connected; if it ended and
//! the id was reused, it names another (the caller compares start times
//! where it matters). Administrators and the system can open any object.

use std::time::Duration;

use interprocess::os::windows::named_pipe::{
    pipe_mode,
    tokio::{DuplexPipeStream, PipeListener as TokioPipeListener},
    PipeListenerOptions,
};
use interprocess::os::windows::security_descriptor::SecurityDescriptor;
use interprocess::ConnectWaitMode;

/// A pipe's full name from its short name: `\\.\pipe\NAME`.
pub fn pipe_path(name: &str) -> String {
    format!(r"\\.\pipe\{name}")
}

/// The access list that lets only `sid` open the pipe.
pub fn owner_only_sddl(sid: &str) -> String {
    format!("D:P(A;;GA;;;{sid})")
}

/// One end of a connected pipe, and the process at the other end.
pub struct PipeStream {
    pub stream: DuplexPipeStream<pipe_mode::Bytes>,
    /// The other end's process id, as Windows recorded it.
    pub peer_pid: u32,
}

impl std::fmt::Debug for PipeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeStream")
            .field("peer_pid", &self.peer_pid)
            .finish_non_exhaustive()
    }
}

/// The listening end.
pub struct PipeListener {
    listener: TokioPipeListener<pipe_mode::Bytes, pipe_mode::Bytes>,
}

impl std::fmt::Debug for PipeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipeListener")
    }
}

/// Listens at `path` (see [`pipe_path`]), open to this process's user only.
/// Fails when the pipe exists already (another listener, or a program that
/// took the name first).
pub fn listen(path: &str) -> std::io::Result<PipeListener> {
    let sid = crate::process::own_user()
        .ok_or_else(|| std::io::Error::other("Windows did not say which user Keybearer runs as"))?;
    listen_for(path, &sid)
}

/// Like [`listen`], open to the user `sid` only.
pub fn listen_for(path: &str, sid: &str) -> std::io::Result<PipeListener> {
    let sddl = widestring::U16CString::from_str(owner_only_sddl(sid))
        .map_err(|_| std::io::Error::other("a user id with a NUL in it"))?;
    let descriptor = SecurityDescriptor::deserialize(&sddl)?;
    let listener = PipeListenerOptions::new()
        .path(path)
        .accept_remote(false)
        .security_descriptor(Some(descriptor))
        .create_tokio_duplex::<pipe_mode::Bytes>()?;
    Ok(PipeListener { listener })
}

impl PipeListener {
    /// Waits for the next client.
    pub async fn accept(&self) -> std::io::Result<PipeStream> {
        let stream = self.listener.accept().await?;
        let peer_pid = stream.client_process_id()?;
        Ok(PipeStream { stream, peer_pid })
    }
}

/// Connects to the pipe at `path`, waiting up to `wait` while every
/// instance is busy. `Ok(None)` when nobody listens there.
pub async fn connect(path: &str, wait: Duration) -> std::io::Result<Option<PipeStream>> {
    match DuplexPipeStream::<pipe_mode::Bytes>::connect_by_path_with_wait_mode(
        path,
        ConnectWaitMode::Timeout(wait),
    )
    .await
    {
        Ok(stream) => {
            let peer_pid = stream.server_process_id()?;
            Ok(Some(PipeStream { stream, peer_pid }))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_helper::{Reports, PIPE};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn unique(name: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        pipe_path(&format!(
            "keybearer-test-{name}-{}-{nanos}",
            std::process::id()
        ))
    }

    /// A real client process: Windows names it to the server, and the
    /// server to it.
    #[test]
    fn each_end_is_told_the_other_process() {
        let path = unique("peers");
        let reports = Reports::new();
        let runtime = runtime();
        let listener = runtime.block_on(async { listen(&path) }).expect("listen");
        let mut child = reports.spawn("pipe-client", &[(PIPE, &path)]);
        let mut connection = runtime.block_on(async {
            let mut connection = listener.accept().await.expect("accept");
            // Before answering: the client ends once it has its answer.
            assert!(crate::process::runs_as_us(connection.peer_pid));
            let mut line = String::new();
            tokio::io::BufReader::new(&mut connection.stream)
                .read_line(&mut line)
                .await
                .expect("read");
            assert_eq!(line, "hello\n");
            connection.stream.write_all(b"hi\n").await.expect("write");
            connection.stream.flush().await.expect("flush");
            connection
        });
        assert_eq!(connection.peer_pid, child.id(), "the client process");
        let mut report = reports.next();
        assert_eq!(report.pid(), child.id());
        assert_eq!(
            report.next_line(),
            format!("answer hi server {}", std::process::id())
        );
        child.wait().expect("wait");
        runtime.block_on(async {
            let mut rest = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut connection.stream, &mut rest).await;
        });
    }

    /// The access list names one user: a pipe made for another user cannot
    /// be opened by this one. Not under Wine: Wine 8 opens a pipe whatever
    /// its access list says (`scripts/windows-test.sh` skips it).
    #[test]
    fn a_pipe_for_another_user_cannot_be_opened() {
        let path = unique("other-user");
        let runtime = runtime();
        runtime.block_on(async {
            let _listener = listen_for(&path, "S-1-5-21-1000-2000-3000-1001").expect("listen");
            let refused = connect(&path, Duration::from_secs(2))
                .await
                .expect_err("another user's pipe");
            assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        });
    }

    /// A name already taken is not shared. Not under Wine: Wine 8 ignores
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE` (`scripts/windows-test.sh` skips it;
    /// the approval channel also asks whether anyone answers first).
    #[test]
    fn a_second_listener_cannot_take_the_name() {
        let path = unique("taken");
        let runtime = runtime();
        runtime.block_on(async {
            let _first = listen(&path).expect("listen");
            assert!(listen(&path).is_err(), "a second listener on the same name");
        });
    }

    /// The descriptor the pipe is made with grants our user alone, and
    /// nothing is inherited into it.
    #[test]
    fn the_descriptor_names_our_user_alone() {
        use interprocess::os::windows::security_descriptor::AsSecurityDescriptorExt;
        let sid = crate::process::own_user().expect("our user");
        let sddl = widestring::U16CString::from_str(owner_only_sddl(&sid)).expect("text");
        let descriptor = SecurityDescriptor::deserialize(&sddl).expect("descriptor");
        // DACL_SECURITY_INFORMATION: the access list only.
        let text = descriptor
            .serialize(0x4, |text| text.to_string_lossy())
            .expect("serialize");
        assert_eq!(text, format!("D:P(A;;GA;;;{sid})"));
    }

    #[test]
    fn nobody_listening_is_none() {
        runtime().block_on(async {
            assert!(connect(&unique("nobody"), Duration::from_millis(200))
                .await
                .expect("connect")
                .is_none());
        });
        assert_eq!(owner_only_sddl("S-1-5-21-1"), "D:P(A;;GA;;;S-1-5-21-1)");
    }
}
