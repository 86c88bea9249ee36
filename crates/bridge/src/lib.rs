//! The stdio bridge (docs/architecture.md, "The bridge"): a stdio MCP server
//! that an app starts from its own config (`keybearer bridge --connection
//! ID --server URL`) and that relays every message, both ways, to one remote
//! MCP server, adding the credential to each HTTP request.
//!
//! Flow: stdin is read line by line (newline-delimited JSON-RPC, at most
//! [`MAX_LINE`] bytes a line); each message is handed to the transport
//! the credential names (Streamable HTTP, `streamable.rs`; legacy SSE,
//! `legacy.rs`), which sends it with the credential looked up for that very
//! request (`link.rs`) and writes every message from the server to stdout
//! as one line, as it arrives. Nothing is re-encoded: a message keeps its
//! bytes, minus line breaks between tokens. Uses are recorded (audit trail,
//! "last used" of the credential and the connection) on a thread of their
//! own. At the end of stdin (or SIGTERM) the requests under way get a
//! moment for their answers, the rest are stopped and recorded as sent
//! without an answer (`tasks.rs`, `usage.rs`), the session is closed and the
//! bridge exits.
//!
//! What goes wrong (no credential, disconnected app, locked keychain, server
//! down, token refused) becomes a JSON-RPC error answer to the request, with
//! `error.data.keybearer` naming the case, and one plain line on stderr.
//! No token is ever written to stdout, stderr or a log.
//!
//! The crate `keybearer-bridge` (docs/architecture.md, "Crates"). Owns the
//! bridge. Must never depend on the store or OAuth's flows: credentials
//! come through the `keybearer-source` seam, uses go to its `UsageSink`.

#[doc(hidden)]
pub mod fuzzing;
mod legacy;
mod lenient;
mod link;
mod message;
mod streamable;
mod tasks;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use keybearer_base::error::{Error, Result};
use keybearer_base::model::Protocol;
use keybearer_source::{CredentialSource, UsageSink};
use link::{Failure, Link, Source};
use message::Peek;

/// The largest message accepted from the app.
pub const MAX_LINE: usize = keybearer_net::sse::MAX_EVENT;

/// How long closing the server's session may hold up the exit.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// How long requests under way when the app leaves may take to get their
/// answers before they are stopped (the Python SDK's stdio client kills a
/// server 2 s after closing its stdin).
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(700);

/// Everything a bridge needs, gathered by the front end (the CLI).
pub struct BridgeSetup {
    /// The normalised server URL (as the credential stores it).
    pub server_url: String,
    pub protocol: Protocol,
    pub credential: BridgeCredential,
}

/// Where the bridge's `Authorization` comes from.
// Made once per process: the size of the larger variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum BridgeCredential {
    /// An app connection's vaults, looked up for every request (rotation,
    /// deletion and disconnection take effect at once), each use recorded.
    Connection {
        connection_id: String,
        /// The app's name, for messages ("Cursor is no longer connected …").
        app: String,
        /// Where credentials come from, or why there is none (locked, not
        /// set up, …): then every request is answered with that reason.
        source: std::result::Result<Arc<dyn CredentialSource>, Error>,
        /// Where uses are written.
        recorder: Option<Box<dyn UsageSink>>,
    },
    /// Fixed headers handed over by a session Keybearer launched, as
    /// `Name: value` lines: the session secret for its proxy listener, or
    /// (direct mode) the credential's. For agents that lack the server's
    /// transport (Codex and SSE).
    Fixed(zeroize::Zeroizing<String>),
}

/// Starts what the bridge will need and can get ready meanwhile (the TLS
/// roots), while the caller opens the vault and the keychain.
pub fn prepare() {
    keybearer_net::upstream::warm_up();
}

/// The program that runs bridges: this one when it is the `keybearer`
/// command line, else the `keybearer` next to it (the desktop app ships it
/// there).
pub fn program() -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    // Written into apps' settings as the command to start: on Windows a
    // plain `C:\…` path, never the `\\?\C:\…` form `canonicalize` gives,
    // which some apps cannot start.
    let exe = dunce::canonicalize(&exe).unwrap_or(exe);
    let name = if cfg!(windows) {
        "keybearer.exe"
    } else {
        "keybearer"
    };
    if exe.file_name().is_some_and(|file| file == name) {
        return Ok(exe);
    }
    let sibling = exe.with_file_name(name);
    if sibling.is_file() {
        return Ok(sibling);
    }
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!(
            "Keybearer's command-line program was not found next to {} ; reinstall Keybearer",
            exe.display()
        ),
    )))
}

/// Runs the bridge on this process's stdin and stdout until stdin ends or
/// the app asks it to stop (SIGTERM, SIGINT, SIGHUP; Ctrl-C on Windows),
/// both handled the same way. A grant being renewed then is stored before
/// the process exits (`CredentialSource::settled`: a rotated refresh token
/// lost there would need a new sign-in); SIGKILL cannot be helped. The
/// runtime is then left without waiting for its blocking threads: the one
/// reading stdin may never return while the app keeps the pipe open.
pub fn run(setup: BridgeSetup) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let source = match &setup.credential {
        BridgeCredential::Connection {
            source: Ok(source), ..
        } => Some(Arc::clone(source)),
        _ => None,
    };
    let result = runtime.block_on(relay_until(
        setup,
        tokio::io::stdin(),
        tokio::io::stdout(),
        stopped(),
    ));
    if !source.is_none_or(|source| source.settled()) {
        tracing::warn!("a renewal of a sign-in was still under way as the bridge stopped");
    }
    runtime.shutdown_background();
    result
}

/// Resolves when this process is asked to stop.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        async fn next(signal: Option<&mut Signal>) -> Option<()> {
            match signal {
                Some(signal) => signal.recv().await,
                // Not handled: left at its default action (the process ends).
                None => std::future::pending().await,
            }
        }
        let mut terminate = signal(SignalKind::terminate()).ok();
        let mut interrupt = signal(SignalKind::interrupt()).ok();
        let mut hangup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            Some(()) = next(terminate.as_mut()) => {}
            Some(()) = next(interrupt.as_mut()) => {}
            Some(()) = next(hangup.as_mut()) => {}
            else => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

enum Transport {
    Streamable(Arc<streamable::Streamable>),
    Legacy(Arc<legacy::Legacy>),
}

/// The bridge over any pair of streams.
pub async fn relay<R, W>(setup: BridgeSetup, input: R, output: W) -> Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    relay_until(setup, input, output, std::future::pending()).await
}

/// The bridge until the input ends or `stop` resolves, which ends it the
/// same way (the server's session closed, answers already received sent).
async fn relay_until<R, W>(
    setup: BridgeSetup,
    input: R,
    output: W,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, lines) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_lines(lines, output));
    let (source, recorder) = match setup.credential {
        BridgeCredential::Connection {
            connection_id,
            app,
            source,
            recorder,
        } => {
            let (usage, recorder) = match recorder {
                Some(recorder) => {
                    let (usage, thread) = usage::start(recorder);
                    (usage, Some(thread))
                }
                None => (Arc::default(), None),
            };
            let source = Source::Vaults {
                connection_id,
                app,
                source: source.map_err(|error| unavailable(&error)),
                usage,
            };
            (source, recorder)
        }
        BridgeCredential::Fixed(lines) => (Source::Fixed(fixed_headers(&lines)?), None),
    };
    let link = Arc::new(Link::new(setup.server_url, source, out.clone())?);
    let transport = match setup.protocol {
        Protocol::StreamableHttp => {
            Transport::Streamable(streamable::Streamable::new(Arc::clone(&link)))
        }
        Protocol::Sse => Transport::Legacy(legacy::Legacy::new(Arc::clone(&link))),
    };
    let ended = match &transport {
        Transport::Legacy(legacy) => Some(Arc::clone(&legacy.ended)),
        Transport::Streamable(_) => None,
    };
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut line = Vec::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        line.clear();
        let read = tokio::select! {
            read = read_line(&mut input, &mut line) => read,
            () = wait(ended.as_deref()) => break,
            () = &mut stop => break,
        };
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                link.complain(&error.to_string());
                break;
            }
        }
        let text = trim(&line);
        if text.is_empty() {
            continue;
        }
        let Some(peek) = Peek::parse(text) else {
            let _ = out.send(message::error_answer(
                &serde_json::Value::Null,
                "Keybearer's bridge received a line that is not JSON.",
                "invalid_input",
            ));
            continue;
        };
        let bytes = Bytes::copy_from_slice(text);
        match &transport {
            Transport::Streamable(streamable) => streamable.handle(bytes, peek),
            Transport::Legacy(legacy) => legacy.handle(bytes, peek),
        }
    }
    // Answers on their way still reach the app for a moment; then what is
    // left is stopped (and recorded as sent without an answer).
    link.tasks.finish(IN_FLIGHT_GRACE).await;
    if let Transport::Streamable(streamable) = &transport {
        let _ = tokio::time::timeout(CLOSE_WAIT, streamable.close()).await;
    }
    link.close_usage();
    drop(transport);
    drop(link);
    drop(out);
    // Messages already received from the server still reach the app.
    let _ = tokio::time::timeout(CLOSE_WAIT, writer).await;
    if let Some(recorder) = recorder {
        let _ = tokio::task::spawn_blocking(move || recorder.join()).await;
    }
    Ok(())
}

async fn wait(notify: Option<&tokio::sync::Notify>) {
    match notify {
        Some(notify) => notify.notified().await,
        None => std::future::pending().await,
    }
}

/// Reads one line (without its end) of at most [`MAX_LINE`] bytes; a longer
/// one is an error, so a client cannot make the bridge hold unbounded memory.
async fn read_line<R: AsyncRead + Unpin>(
    input: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(total);
        }
        let (taken, done) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (end + 1, true),
            None => (buffer.len(), false),
        };
        if line.len() + taken > MAX_LINE + 1 {
            return Err(std::io::Error::other(
                "the app sent a message larger than 64 MiB; the bridge stops",
            ));
        }
        line.extend_from_slice(&buffer[..taken]);
        input.consume(taken);
        total += taken;
        if done {
            return Ok(total);
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|b| !b.is_ascii_whitespace());
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace());
    match (start, end) {
        (Some(start), Some(end)) => &line[start..=end],
        _ => &[],
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut lines: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: W,
) {
    while let Some(line) = lines.recv().await {
        if output.write_all(&line).await.is_err() {
            return; // the app closed our stdout: nothing more can reach it
        }
        // Several lines waiting go out with one flush.
        if lines.is_empty() && output.flush().await.is_err() {
            return;
        }
    }
    let _ = output.flush().await;
}

/// Why there are no tokens, in the app user's words.
fn unavailable(error: &Error) -> Failure {
    use keybearer_base::error::ErrorCode;
    let text = match error.code() {
        ErrorCode::NotInitialized => {
            "Keybearer is not set up yet. Open Keybearer and set it up, then try again.".to_string()
        }
        ErrorCode::KeychainUnavailable | ErrorCode::KeychainLocked => format!(
            "Keybearer cannot reach its key in the system keychain ({error}). Unlock the keychain (log in to the desktop), then try again."
        ),
        ErrorCode::PassphraseRequired => "Keybearer is protected by a passphrase, which an app's bridge cannot ask for. Use the system keychain in Keybearer to connect apps.".to_string(),
        ErrorCode::RecoveryNeeded => "Keybearer needs its recovery key: open Keybearer and recover access, then try again.".to_string(),
        _ => format!("Keybearer could not open its vaults: {error}"),
    };
    Failure::Unavailable(text, error.code().as_str())
}

/// `Name: value` lines as headers marked sensitive.
fn fixed_headers(lines: &str) -> Result<Vec<(http::HeaderName, http::HeaderValue)>> {
    let invalid = || {
        Error::invalid(
            "headers",
            "The headers file holds a line that is not `Name: value`.",
        )
    };
    let mut headers = Vec::new();
    for line in lines.lines().filter(|line| !line.trim().is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(invalid)?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| invalid())?;
        let mut value = http::HeaderValue::from_str(value.trim()).map_err(|_| invalid())?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    Ok(headers)
}

/// A poisoned lock only means a task panicked mid-update of plain data.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
