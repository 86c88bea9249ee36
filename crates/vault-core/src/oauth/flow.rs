//! The authorization code flow for a native app (RFC 8252, OAuth 2.1):
//! PKCE S256, a random `state`, `resource` (RFC 8707), and a one-shot
//! listener on `http://127.0.0.1:<port>/callback` that takes the browser's
//! answer, checks `state` and `iss` (RFC 9207), exchanges the code and shows
//! a small "you can close this tab" page.
//!
//! The browser is opened by the caller (`opener`): the desktop through its
//! opener plugin, the CLI by printing the address, tests with an HTTP client.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;
use zeroize::Zeroizing;

use super::discovery::{discover_with, Discovery};
use super::error::{error_reason, quote_field, OAuthError};
use super::http::Http;
use super::pkce::{random_token, Pkce};
use super::registration::{resolve_client, ClientChoice};
use super::token::exchange_code;
use super::{ClientRegistration, OAuthSecret, RegistrationSource, StoredOAuth};

/// How long sign-in waits for the browser by default.
pub const DEFAULT_SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const CALLBACK_PATH: &str = "/callback";
/// Largest request head the listener reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(50);

/// How to sign in.
#[derive(Clone, Debug)]
pub struct SignInOptions {
    pub client: ClientChoice,
    /// The scopes to ask for (space-separated). `None`: the server's 401
    /// challenge's, else all its metadata lists, else none.
    pub scope: Option<String>,
    /// The name the service shows for Keybearer (dynamic registration).
    pub client_name: String,
    /// How long to wait for the browser.
    pub timeout: Duration,
}

impl Default for SignInOptions {
    fn default() -> Self {
        Self {
            client: ClientChoice::Dynamic,
            scope: None,
            client_name: "Keybearer".to_string(),
            timeout: DEFAULT_SIGN_IN_TIMEOUT,
        }
    }
}

/// Signs in to the MCP server at `server_url`: discovery, client
/// registration, the browser (through `opener`, given the authorization
/// address), the code exchange. Blocks until the browser answers, the
/// timeout passes, or the opener fails.
pub fn sign_in(
    server_url: &str,
    options: &SignInOptions,
    opener: &dyn Fn(&str) -> crate::Result<()>,
) -> Result<StoredOAuth, OAuthError> {
    let pending = start_sign_in(server_url, options)?;
    opener(pending.authorization_url()).map_err(|error| OAuthError::Browser(error.to_string()))?;
    pending.finish()
}

/// The first half of [`sign_in`]: everything up to the browser. Show or
/// open [`PendingSignIn::authorization_url`], then call [`PendingSignIn::finish`].
pub fn start_sign_in(
    server_url: &str,
    options: &SignInOptions,
) -> Result<PendingSignIn, OAuthError> {
    let http = Http::new();
    let discovery = discover_with(&http, server_url)?;
    PendingSignIn::start(http, discovery, options)
}

/// A sign-in waiting for the browser's answer.
pub struct PendingSignIn {
    http: Http,
    discovery: Discovery,
    registration: ClientRegistration,
    listener: TcpListener,
    redirect_uri: String,
    authorization_url: String,
    state: OAuthSecret,
    pkce: Pkce,
    scope: Option<String>,
    timeout: Duration,
    cancelled: Arc<AtomicBool>,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("server_url", &self.discovery.server_url)
            .field("issuer", &self.registration.issuer)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl PendingSignIn {
    /// Opens the listener, settles the client, and builds the authorization
    /// address for an already discovered server.
    pub fn from_discovery(
        discovery: Discovery,
        options: &SignInOptions,
    ) -> Result<Self, OAuthError> {
        Self::start(Http::new(), discovery, options)
    }

    fn start(
        http: Http,
        discovery: Discovery,
        options: &SignInOptions,
    ) -> Result<Self, OAuthError> {
        let listener = bind_listener(preferred_port(&options.client))?;
        let port = listener
            .local_addr()
            .map_err(|error| OAuthError::Listener(error.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let scope = options
            .scope
            .clone()
            .filter(|scope| !scope.trim().is_empty())
            .or_else(|| discovery.suggested_scope());
        let registration = resolve_client(
            &http,
            &discovery,
            &options.client,
            &redirect_uri,
            &options.client_name,
            scope.as_deref(),
        )?;
        let state = random_token()?;
        let pkce = Pkce::generate()?;
        let mut url = Url::parse(&registration.authorization_endpoint).map_err(|_| {
            OAuthError::bad(
                "The sign-in service",
                "its sign-in page address is not valid",
            )
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &registration.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("code_challenge", pkce.challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", state.expose_secret())
                .append_pair("resource", &discovery.resource);
            if let Some(scope) = &scope {
                query.append_pair("scope", scope);
            }
        }
        Ok(Self {
            http,
            discovery,
            registration,
            listener,
            redirect_uri,
            authorization_url: url.into(),
            state,
            pkce,
            scope,
            timeout: options.timeout,
            cancelled: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address to open in the browser.
    pub fn authorization_url(&self) -> &str {
        &self.authorization_url
    }

    /// Where the browser is sent back to (`http://127.0.0.1:<port>/callback`).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// What sign-in found out about the server.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The client this sign-in uses.
    pub fn registration(&self) -> &ClientRegistration {
        &self.registration
    }

    /// Set it to stop [`PendingSignIn::finish`] (within 50 ms) with `Cancelled`.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    /// Waits for the browser's answer, checks it, exchanges the code.
    pub fn finish(self) -> Result<StoredOAuth, OAuthError> {
        let deadline = Instant::now() + self.timeout;
        self.listener
            .set_nonblocking(true)
            .map_err(|error| OAuthError::Listener(error.to_string()))?;
        loop {
            if self.cancelled.load(Ordering::Relaxed) {
                return Err(OAuthError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(OAuthError::SignInTimedOut {
                    minutes: self.timeout.as_secs().div_ceil(60),
                });
            }
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(outcome) = self.answer(stream) {
                        return outcome;
                    }
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(POLL)
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(OAuthError::Listener(error.to_string())),
            }
        }
    }

    /// One browser connection. `None`: not the callback (answered 404), keep waiting.
    fn answer(&self, mut stream: TcpStream) -> Option<Result<StoredOAuth, OAuthError>> {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(CONNECTION_TIMEOUT));
        let _ = stream.set_write_timeout(Some(CONNECTION_TIMEOUT));
        let head = read_head(&mut stream)?;
        let Some(callback) = parse_callback(&head) else {
            respond(&mut stream, "404 Not Found", "Not found", "");
            return None;
        };
        let outcome = self.complete(callback);
        match &outcome {
            Ok(_) => respond(
                &mut stream,
                "200 OK",
                "Signed in",
                "Keybearer now keeps this sign-in. You can close this tab.",
            ),
            Err(error) => respond(
                &mut stream,
                "400 Bad Request",
                "Sign-in did not complete",
                &format!("{error} You can close this tab and return to Keybearer."),
            ),
        }
        Some(outcome)
    }

    fn complete(&self, callback: Callback) -> Result<StoredOAuth, OAuthError> {
        // A forged answer (another page, another program) cannot know `state`.
        if callback.state.as_ref() != Some(&self.state) {
            return Err(OAuthError::StateMismatch);
        }
        let metadata = &self.discovery.auth_server;
        match &callback.iss {
            Some(iss) if iss != &metadata.issuer => {
                return Err(OAuthError::IssMismatch {
                    problem: format!(
                        "it names \"{}\" instead of \"{}\"",
                        quote_field(Some(iss), &[]).unwrap_or_default(),
                        metadata.issuer
                    ),
                })
            }
            // An error answer without `iss` ends sign-in all the same.
            None if metadata.authorization_response_iss_parameter_supported
                && callback.error.is_none() =>
            {
                return Err(OAuthError::IssMismatch {
                    problem: "it names no issuer, although the service says it always does"
                        .to_string(),
                })
            }
            _ => {}
        }
        if callback.error.is_some() {
            return Err(OAuthError::AuthorizationDenied {
                reason: error_reason(
                    callback.error.as_deref(),
                    callback.error_description.as_deref(),
                    400,
                    &[],
                ),
            });
        }
        let Some(code) = callback.code else {
            return Err(OAuthError::bad(
                "The sign-in service",
                "its answer to the browser has no authorization code",
            ));
        };
        let grant = exchange_code(
            &self.http,
            &self.registration,
            &code,
            self.pkce.verifier(),
            &self.redirect_uri,
            &self.discovery.resource,
            self.scope.as_deref(),
        )?;
        Ok(StoredOAuth {
            server_url: self.discovery.server_url.clone(),
            resource: self.discovery.resource.clone(),
            registration: self.registration.clone(),
            grant,
        })
    }
}

/// A dynamic registration's own port is tried first, so that the same
/// client (registered for that exact redirect address) can be kept.
fn preferred_port(choice: &ClientChoice) -> u16 {
    match choice {
        ClientChoice::Existing(existing) if existing.source == RegistrationSource::Dynamic => {
            existing
                .redirect_uri
                .as_deref()
                .and_then(|uri| Url::parse(uri).ok())
                .and_then(|url| url.port())
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn bind_listener(port: u16) -> Result<TcpListener, OAuthError> {
    if port != 0 {
        if let Ok(listener) = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))) {
            return Ok(listener);
        }
    }
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|error| OAuthError::Listener(error.to_string()))
}

/// The request head (it carries the code: kept in a zeroised buffer).
fn read_head(stream: &mut TcpStream) -> Option<Zeroizing<Vec<u8>>> {
    let mut head = Zeroizing::new(Vec::with_capacity(MAX_REQUEST_HEAD));
    let mut chunk = Zeroizing::new([0u8; 1024]);
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let room = MAX_REQUEST_HEAD - head.len();
        if room == 0 {
            return None;
        }
        let read = stream.read(&mut chunk[..room.min(1024)]).ok()?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Some(head)
}

/// The browser's answer (RFC 6749 §4.1.2).
struct Callback {
    code: Option<OAuthSecret>,
    state: Option<OAuthSecret>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /callback?…` → its parameters; anything else → `None`.
fn parse_callback(head: &[u8]) -> Option<Callback> {
    let line_end = head.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if method != "GET" || path != CALLBACK_PATH {
        return None;
    }
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
    Some(callback)
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
    let _ = stream.write_all(response.as_bytes());
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
mod tests {
    use super::*;

    #[test]
    fn only_the_callback_path_is_an_answer() {
        let head = b"GET /callback?code=c%2B1&state=s&iss=https%3A%2F%2Fas.example HTTP/1.1\r\nHost: x\r\n\r\n";
        let callback = parse_callback(head).expect("callback");
        assert_eq!(callback.code.expect("code").expose_secret(), "c+1");
        assert_eq!(callback.state.expect("state").expose_secret(), "s");
        assert_eq!(callback.iss.as_deref(), Some("https://as.example"));
        assert!(parse_callback(b"GET /favicon.ico HTTP/1.1\r\n\r\n").is_none());
        assert!(parse_callback(b"POST /callback?code=x HTTP/1.1\r\n\r\n").is_none());
        let twice = parse_callback(b"GET /callback?code=a&code=b&state=s HTTP/1.1\r\n\r\n")
            .expect("callback");
        assert!(twice.state.is_none(), "an ambiguous answer loses its state");
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
