//! The loopback listener of one sign-in (RFC 8252 §7.3) on
//! `http://127.0.0.1:<port>`, with two addresses, until the sign-in ends:
//!
//! - `/start/<random>`, the only address handed to the browser opener
//!   (`xdg-open`, `open`, `start`: any program can read their command line).
//!   Its first request is answered with a redirect to the authorization
//!   address, which carries `state` and the PKCE challenge, so that neither
//!   is ever in an argument. A second request means something else loaded
//!   it too and may have learnt `state`: the sign-in stops at once
//!   (`SignInIntercepted`, a page saying so), and nothing is accepted after.
//! - `/callback` (the caller's path: `/oidc/callback` for a team server's
//!   OIDC sign-in, `loopback_sign_in.rs`), the browser's answer. One without this sign-in's `state`
//!   (forged by another program, or an old tab) is answered 400 and ignored;
//!   the first one with it ends the wait, and the caller checks the rest
//!   (`iss`, an error from the service) and exchanges the code.
//!
//! On Linux a request gets either only when the kernel shows its client end
//! held by a program of a trusted user (see `crate::loopback`, which fails
//! closed: an end half-closed with `shutdown` is still judged by its owner,
//! one no program holds or not found at all is refused); otherwise only a
//! 403.
//! Connections are read without blocking, side by side, so one that sends
//! nothing or sends slowly holds none of the others up: each has 10 s to
//! send its request head (16 KiB at most), and at most 64 wait at once (the
//! oldest is dropped for a new one).
//!
//! Limits: a program of this user that reads the opener's command line and
//! goes through the whole sign-in (the start page, its own login at the
//! service, the callback) before the browser loads the start page is not
//! caught; such a program can read the keychain too (README, threat model).
//! A system that fetches the address itself before its browser does would
//! trip the second-request check. See docs/architecture.md, "OAuth".

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::error::OAuthError;
use super::pkce::random_token;
use super::OAuthSecret;

pub(super) const CALLBACK_PATH: &str = "/callback";
const START_PREFIX: &str = "/start/";
/// Largest request head the listener reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections read side by side; beyond, the oldest is dropped.
const MAX_WAITING: usize = 64;
const POLL: Duration = Duration::from_millis(20);

const INTERCEPTED_PAGE: &str = "Another program on this computer opened this sign-in page \
     before your browser did, so Keybearer stopped the sign-in to keep that program from \
     answering in your place. Nothing was saved. Close this tab and start signing in again \
     in Keybearer.";

/// A sign-in's listener, bound before the authorization address is made
/// (it names the port).
pub(super) struct Listener {
    socket: TcpListener,
    port: u16,
    /// Where the browser comes back (`/callback`; `/oidc/callback` for a
    /// team server's OIDC sign-in).
    callback_path: &'static str,
    /// `/start/<43 random characters>`.
    start_path: OAuthSecret,
}

/// What [`Listener::wait`] waits for.
pub(super) struct Wait<'a> {
    pub authorization_url: &'a str,
    pub state: &'a OAuthSecret,
    pub timeout: Duration,
    pub cancelled: &'a AtomicBool,
}

impl Listener {
    /// Binds 127.0.0.1:`preferred_port` when free (0: any), else any port.
    pub(super) fn bind(preferred_port: u16) -> Result<Self, OAuthError> {
        let socket = (preferred_port != 0)
            .then(|| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, preferred_port))))
            .and_then(Result::ok)
            .map_or_else(
                || TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
                Ok,
            )
            .map_err(|error| OAuthError::Listener(error.to_string()))?;
        Self::on(socket, CALLBACK_PATH)
    }

    /// Binds 127.0.0.1:`port` exactly (a server that allows only the
    /// redirect addresses its administrator listed), answering on
    /// `callback_path`.
    pub(super) fn bind_exact(port: u16, callback_path: &'static str) -> Result<Self, OAuthError> {
        let socket = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).map_err(
            |error| {
                OAuthError::Listener(format!(
                    "port {port} of this computer is not free ({error}); close what uses it, or pick another port the server allows"
                ))
            },
        )?;
        Self::on(socket, callback_path)
    }

    fn on(socket: TcpListener, callback_path: &'static str) -> Result<Self, OAuthError> {
        let port = socket
            .local_addr()
            .map_err(|error| OAuthError::Listener(error.to_string()))?
            .port();
        let token = random_token()?;
        let start_path = OAuthSecret::new(format!("{START_PREFIX}{}", token.expose_secret()));
        Ok(Self {
            socket,
            port,
            callback_path,
            start_path,
        })
    }

    /// `http://127.0.0.1:<port>/callback`.
    pub(super) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.callback_path)
    }

    /// `http://127.0.0.1:<port>/start/<random>`: what the browser opener gets.
    pub(super) fn start_url(&self) -> String {
        format!(
            "http://127.0.0.1:{}{}",
            self.port,
            self.start_path.expose_secret()
        )
    }

    /// Serves the start page and waits for the first callback carrying
    /// `state`, which `complete` turns into the outcome (shown to the
    /// browser). Ends early on cancel (checked every 20 ms), timeout, or a
    /// second request for the start page.
    pub(super) fn wait<T, E: From<OAuthError> + std::fmt::Display>(
        &self,
        wait: &Wait<'_>,
        mut complete: impl FnMut(Callback) -> Result<T, E>,
    ) -> Result<T, E> {
        let deadline = Instant::now() + wait.timeout;
        self.socket
            .set_nonblocking(true)
            .map_err(|error| OAuthError::Listener(error.to_string()))?;
        let mut waiting = VecDeque::new();
        let mut started = false;
        loop {
            if wait.cancelled.load(Ordering::Relaxed) {
                return Err(OAuthError::Cancelled.into());
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::SignInTimedOut {
                    minutes: wait.timeout.as_secs().div_ceil(60),
                }
                .into());
            }
            self.accept(&mut waiting)?;
            let mut index = 0;
            while index < waiting.len() {
                match waiting[index].read() {
                    Progress::More if waiting[index].since.elapsed() < HEAD_TIMEOUT => index += 1,
                    Progress::More | Progress::Gone => drop(waiting.remove(index)),
                    Progress::Head => {
                        let Some(connection) = waiting.remove(index) else {
                            break;
                        };
                        if let Some(outcome) =
                            self.answer(connection, wait, &mut started, &mut complete)
                        {
                            return outcome;
                        }
                    }
                }
            }
            std::thread::sleep(POLL);
        }
    }

    /// Takes the connections waiting to be accepted (a bounded number per round).
    fn accept<E: From<OAuthError>>(&self, waiting: &mut VecDeque<Connection>) -> Result<(), E> {
        for _ in 0..MAX_WAITING {
            match self.socket.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if waiting.len() >= MAX_WAITING {
                        waiting.pop_front();
                    }
                    waiting.push_back(Connection {
                        stream,
                        head: Zeroizing::new(Vec::with_capacity(MAX_REQUEST_HEAD)),
                        since: Instant::now(),
                    });
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(error) => return Err(OAuthError::Listener(error.to_string()).into()),
            }
        }
        Ok(())
    }

    /// One request. `None`: keep waiting.
    fn answer<T, E: From<OAuthError> + std::fmt::Display>(
        &self,
        mut connection: Connection,
        wait: &Wait<'_>,
        started: &mut bool,
        complete: &mut impl FnMut(Callback) -> Result<T, E>,
    ) -> Option<Result<T, E>> {
        let stream = &mut connection.stream;
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let request = parse_request(&connection.head, &self.start_path, self.callback_path);
        if !matches!(request, Request::Other) {
            if let Some(foreign) = keybearer_platform::loopback::foreign_peer(stream) {
                // `User(uid)`, or `Unknown`: no program holds its end.
                tracing::warn!(
                    ?foreign,
                    "sign-in listener: refused a request not from a trusted user's program"
                );
                respond(
                    stream,
                    "403 Forbidden",
                    "Not your sign-in",
                    "Another user of this computer started this sign-in.",
                );
                return None;
            }
        }
        match request {
            Request::Other => {
                respond(stream, "404 Not Found", "Not found", "");
                None
            }
            Request::Start if !*started => {
                *started = true;
                redirect(stream, wait.authorization_url);
                None
            }
            Request::Start => {
                tracing::warn!("sign-in listener: the start page was asked for twice; stopped");
                respond(stream, "409 Conflict", "Sign-in stopped", INTERCEPTED_PAGE);
                Some(Err(OAuthError::SignInIntercepted.into()))
            }
            Request::Callback(callback) if callback.state.as_ref() != Some(wait.state) => {
                tracing::warn!("sign-in listener: ignored an answer without this sign-in's state");
                respond(
                    stream,
                    "400 Bad Request",
                    "Not this sign-in",
                    "This page does not belong to the sign-in Keybearer is waiting for \
                     (it may be left from an earlier attempt), so Keybearer ignored it. \
                     Finish signing in in the tab Keybearer opened last.",
                );
                None
            }
            Request::Callback(callback) => {
                let outcome = complete(callback);
                match &outcome {
                    Ok(_) => respond(
                        stream,
                        "200 OK",
                        "Signed in",
                        "Keybearer now keeps this sign-in. You can close this tab.",
                    ),
                    Err(error) => respond(
                        stream,
                        "400 Bad Request",
                        "Sign-in did not complete",
                        &format!("{error} You can close this tab and return to Keybearer."),
                    ),
                }
                Some(outcome)
            }
        }
    }
}

/// A connection whose request head is being read.
struct Connection {
    stream: TcpStream,
    /// It may carry the code: kept in a zeroised buffer, never reallocated.
    head: Zeroizing<Vec<u8>>,
    since: Instant,
}

enum Progress {
    /// The head is not complete yet.
    More,
    Head,
    /// Closed, failed, or too large: dropped without an answer.
    Gone,
}

impl Connection {
    /// Reads what has arrived, without waiting.
    fn read(&mut self) -> Progress {
        let mut chunk = Zeroizing::new([0u8; 1024]);
        loop {
            if self.head.windows(4).any(|window| window == b"\r\n\r\n") {
                return Progress::Head;
            }
            let room = MAX_REQUEST_HEAD - self.head.len();
            if room == 0 {
                return Progress::Gone;
            }
            match self.stream.read(&mut chunk[..room.min(1024)]) {
                Ok(0) if self.head.is_empty() => return Progress::Gone,
                Ok(0) => return Progress::Head,
                Ok(read) => self.head.extend_from_slice(&chunk[..read]),
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Progress::More,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(_) => return Progress::Gone,
            }
        }
    }
}

/// What a request asks for.
enum Request {
    Start,
    Callback(Callback),
    Other,
}

/// The browser's answer (RFC 6749 §4.1.2).
pub struct Callback {
    pub code: Option<OAuthSecret>,
    pub state: Option<OAuthSecret>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// `GET /start/<this sign-in's random>` → `Start`; `GET /callback?…` → its
/// parameters; anything else (another method, path or random) → `Other`.
fn parse_request(head: &[u8], start_path: &OAuthSecret, callback_path: &str) -> Request {
    let Some(line_end) = head.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return Request::Other;
    };
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Request::Other;
    };
    let mut parts = line.split(' ');
    let (Some("GET"), Some(target)) = (parts.next(), parts.next()) else {
        return Request::Other;
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == callback_path {
        return Request::Callback(parse_callback(query));
    }
    if path.starts_with(START_PREFIX) && OAuthSecret::new(path.to_string()) == *start_path {
        return Request::Start;
    }
    Request::Other
}

fn parse_callback(query: &str) -> Callback {
    let mut callback = Callback {
        code: None,
        state: None,
        iss: None,
        error: None,
        error_description: None,
    };
    let mut ambiguous = false;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        // A repeated parameter makes the answer ambiguous: keep none of it.
        let slot_taken = match name.as_ref() {
            "code" => callback.code.replace(OAuthSecret::new(value)).is_some(),
            "state" => callback.state.replace(OAuthSecret::new(value)).is_some(),
            "iss" => callback.iss.replace(value).is_some(),
            "error" => callback.error.replace(value).is_some(),
            "error_description" => callback.error_description.replace(value).is_some(),
            _ => false,
        };
        ambiguous |= slot_taken;
    }
    if ambiguous {
        callback.state = None;
    }
    callback
}

/// The start page's answer: on to the authorization address, which is
/// neither kept by the browser's cache nor sent on as a `Referer`.
fn redirect(stream: &mut TcpStream, location: &str) {
    let response = Zeroizing::new(format!(
        "HTTP/1.1 303 See Other\r\nLocation: {location}\r\nContent-Length: 0\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    ));
    send(stream, response.as_bytes());
}

/// A small page for the browser; the connection is closed after it.
fn respond(stream: &mut TcpStream, status: &str, title: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} – Keybearer</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:36em;margin:4em auto\">\
         <h1>{title}</h1><p>{}</p></body></html>",
        escape_html(text)
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    send(stream, response.as_bytes());
}

fn send(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
