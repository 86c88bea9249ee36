//! The private line between the command line and the running desktop app
//! for approvals on Windows (docs/architecture.md, "User presence"): the
//! same exchange as `approval_socket` on Unix, over a named pipe
//! (`keybearer_platform::pipe`).
//!
//! The app listens on `\\.\pipe\keybearer-approval-<hash of the data
//! folder>`, made with an access list naming only the user it runs as (no
//! other user's program can open it) and refusing other computers. Windows
//! names each end's process; each end checks that process runs as the same
//! user (what Linux reads with `SO_PEERCRED`), and the app also refuses a
//! request from inside a session: the asker is in a session's job held by
//! the app, or a running session's agent is among its ancestors (checked by
//! start time). Windows has no sandbox to hide the pipe from an agent, so
//! this check is the app's, not only the command line's. The CLI sends one
//! JSON line, an [`ApprovalRequest`], and waits for one line back; a closed
//! connection without an answer is a refusal.
//!
//! Limits: one app per data folder answers (a second one finds the pipe
//! answered and does not take it over); an agent that started a process
//! which then left the agent's job cannot exist (jobs allow no breakaway),
//! but one whose parent chain was cut (the parent ended) and whose session
//! runs in another Keybearer process (a `keybearer session start`) is
//! known only by that chain. Under Wine the pipe's access list is not
//! enforced (tests: `keybearer_platform::pipe`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use keybearer_platform::pipe::{self, PipeStream};

use super::presence::{asker_inside_session, command_text, ApprovalRequest};
use keybearer_base::error::{Error, Result};

/// The most a request may take on the wire.
const MAX_REQUEST: usize = 64 * 1024;
/// How long a request may take to arrive, in all.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

#[derive(serde::Serialize, serde::Deserialize)]
struct Answer {
    approved: bool,
}

/// The pipe's path for a data folder: one per folder (case does not
/// matter in Windows paths), the same for the CLI and the app.
pub(crate) fn pipe_path(data_dir: &Path) -> String {
    // FNV-1a: a stable name, not a secret (the access list is the lock).
    let folder = data_dir.to_string_lossy().to_lowercase();
    let hash = folder
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    pipe::pipe_path(&format!("keybearer-approval-{hash:016x}"))
}

fn another_user() -> Error {
    Error::NotApproved(
        "Another user's program answered on Keybearer's approval channel, so it was not asked. Check which programs run on this computer.".into(),
    )
}

/// Runs `work` on `runtime`, from a thread of its own when the caller is
/// itself inside a Tokio runtime (where `block_on` is not allowed), so the
/// front ends may call from anywhere.
fn block_on<T: Send>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T> + Send,
) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return runtime.block_on(work);
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime.block_on(work))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
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
    let path = pipe_path(data_dir);
    // The command line asks from its main thread, outside any runtime.
    runtime()?.block_on(async {
        let Some(mut app) = pipe::connect(&path, Duration::from_secs(5)).await? else {
            return Ok(None);
        };
        if !keybearer_platform::process::runs_as_us(app.peer_pid) {
            return Err(another_user());
        }
        let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // The app may close the pipe before taking the request (it refuses
        // askers inside a session unread): that is a refusal too.
        let sent = async {
            app.stream.write_all(&line).await?;
            app.stream.flush().await
        };
        match sent.await {
            Ok(()) => {}
            Err(error) if closed(&error) => return Ok(Some(false)),
            Err(error) => return Err(error.into()),
        }
        asked();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(limit, async {
            let mut chunk = [0u8; 256];
            while !answer.contains(&b'\n') && answer.len() < 1024 {
                match app.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => answer.extend_from_slice(&chunk[..read]),
                }
            }
        })
        .await;
        if read.is_err() {
            return Err(Error::NotApproved(format!(
                "Nobody answered the approval in the Keybearer window within {} minutes, so the agent was not started.",
                limit.as_secs().div_ceil(60)
            )));
        }
        // A connection closed without an answer (the app quit) is a refusal.
        let line = answer.split(|byte| *byte == b'\n').next().unwrap_or_default();
        Ok(Some(
            serde_json::from_slice::<Answer>(line).is_ok_and(|answer| answer.approved),
        ))
    })
}

/// Whether an error says the other end closed the pipe.
fn closed(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    )
}

/// The app's end: hands out each approval request as it comes.
pub struct ApprovalListener {
    listener: pipe::PipeListener,
    data_dir: std::path::PathBuf,
    runtime: Arc<tokio::runtime::Runtime>,
}

/// Someone asking for an approval: what, and who.
pub struct Asked {
    pub request: ApprovalRequest,
    /// The asking process's id and command line, as Windows reports them.
    pub pid: u32,
    pub command: String,
    stream: PipeStream,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl ApprovalListener {
    /// Listens for `data_dir`. Fails when another app already answers there.
    pub fn bind(data_dir: &Path) -> Result<Self> {
        let path = pipe_path(data_dir);
        let runtime = Arc::new(runtime()?);
        // Wine does not keep a second listener off a taken name: ask first.
        let answered = block_on(&runtime, pipe::connect(&path, Duration::from_millis(200)));
        if matches!(answered, Ok(Some(_))) {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another Keybearer window already answers approvals for this data folder",
            )));
        }
        let listener = block_on(&runtime, async { pipe::listen(&path) })?;
        Ok(Self {
            listener,
            data_dir: data_dir.to_path_buf(),
            runtime,
        })
    }

    /// Waits for the next well-formed request from a process of this user
    /// outside every session. Anything else is dropped unanswered (the
    /// asker treats that as no).
    pub fn next(&self) -> Result<Asked> {
        loop {
            let stream = block_on(&self.runtime, self.listener.accept())?;
            match self.read_request(stream) {
                Ok(asked) => return Ok(asked),
                Err(error) => {
                    tracing::warn!(code = %error.code(), %error, "approval request dropped")
                }
            }
        }
    }

    fn read_request(&self, mut stream: PipeStream) -> Result<Asked> {
        let pid = stream.peer_pid;
        if !keybearer_platform::process::runs_as_us(pid) {
            return Err(another_user());
        }
        if asker_inside_session(&self.data_dir, pid)? {
            return Err(Error::NotApproved(format!(
                "process {pid} runs inside a Keybearer session and may not ask for direct mode"
            )));
        }
        let line = block_on(&self.runtime, async {
            let mut line = Vec::new();
            let read = tokio::time::timeout(REQUEST_DEADLINE, async {
                let mut chunk = [0u8; 4096];
                while !line.contains(&b'\n') && line.len() <= MAX_REQUEST {
                    match stream.stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => line.extend_from_slice(&chunk[..read]),
                    }
                }
            })
            .await;
            match read {
                Ok(()) if line.len() <= MAX_REQUEST => Ok(line),
                _ => Err(Error::invalid("approval", "no whole request in time")),
            }
        })?;
        let line = line.split(|byte| *byte == b'\n').next().unwrap_or_default();
        let request: ApprovalRequest = serde_json::from_slice(line)
            .map_err(|_| Error::invalid("approval", "not an approval request"))?;
        let command = keybearer_platform::process::facts(pid)
            .map(|facts| command_text(facts.command))
            .unwrap_or_default();
        Ok(Asked {
            request,
            pid,
            command,
            stream,
            runtime: Arc::clone(&self.runtime),
        })
    }
}

impl Asked {
    /// Sends the person's answer; the asker may have given up meanwhile.
    pub fn answer(mut self, approved: bool) {
        let mut line = serde_json::to_vec(&Answer { approved }).unwrap_or_default();
        line.push(b'\n');
        let stream = &mut self.stream.stream;
        // The timer is made inside the runtime (it needs its clock).
        let _ = block_on(&self.runtime, async move {
            tokio::time::timeout(Duration::from_secs(5), async move {
                stream.write_all(&line).await?;
                stream.flush().await
            })
            .await
        });
    }

    /// Whether the asker hung up (gave up, was stopped) before an answer.
    pub fn gone(&self) -> bool {
        let mut stream = &self.stream.stream;
        let mut byte = [0u8; 1];
        match block_on(&self.runtime, async {
            tokio::time::timeout(Duration::from_millis(5), stream.read(&mut byte)).await
        }) {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }
}
