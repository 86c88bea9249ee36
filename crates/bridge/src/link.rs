//! The bridge's one way to the server: every HTTP request it makes goes
//! through [`Link::send`], which looks the credential up for this request
//! (through the connection's vaults, on the tokens part's read path, so a
//! replaced, deleted or disconnected credential takes effect at once), adds
//! the `Authorization` header, sends, and records the use (`usage.rs`: also
//! when the request is stopped before its answer). The work under way is in
//! [`Link::tasks`] (`tasks.rs`), which ends it when the app leaves. And its one way
//! to the app: [`Link::write`] (a line on stdout) and [`Link::fail`] (a
//! JSON-RPC error for each waiting request plus one plain line on stderr).
//! The token is in a sensitive header value and nowhere else.
//!
//! Echoed secrets (docs/architecture.md, "Echoed secrets"): every answer's
//! body comes back from [`Link::send`] as a `Redacted` body, so whatever
//! reads it (a JSON answer, an event stream, an `endpoint`, an error body)
//! sees the secrets of the request's own headers covered, however the
//! server's chunks cut them; the first cover records `credential.echoed`.
//! Answers are asked for unencoded (`Accept-Encoding: identity`), and one
//! that comes compressed all the same is refused: it cannot be searched.
//! The bridge shows the app nothing of an answer's head but its status.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT_ENCODING, HOST, USER_AGENT};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use serde_json::Value;
use tokio::sync::mpsc;

use super::message::{self, Peek};
use super::tasks::Tasks;
use super::usage::{Pending, Usage};
use keybearer_base::echo::Needles;
use keybearer_base::error::Error;
use keybearer_base::model::Timestamp;
use keybearer_net::redacted::{is_encoded, Redacted};
use keybearer_net::upstream::Connector;
use keybearer_source::{CredentialSource, CredentialUse, Scope, UseKind};

/// Why a message could not be delivered, in the app user's words.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The connection's vaults hold no credential for the server.
    NoCredential,
    /// The app's connection was removed in Keybearer.
    Disconnected,
    /// The tokens could not be opened at all (locked, no key, …).
    Unavailable(String, &'static str),
    /// No answer from the server.
    Unreachable(String),
    /// 401 or 403: the server refused the credential.
    Refused(u16),
    /// The server ended the session (404 to a request carrying its id).
    SessionEnded,
    /// 403 `insufficient_scope`: the sign-in must grant more (these scopes).
    NeedsScope(String),
    /// The server named where messages go, and `reach::check` refused it:
    /// nothing was sent there.
    EndpointRefused(keybearer_base::reach::Refused),
    /// Any other unexpected answer or broken stream.
    Upstream(String),
}

impl Failure {
    pub(crate) fn message(&self, link: &Link) -> String {
        let (server, app) = (&link.server_url, &link.app);
        match self {
            Self::NoCredential => format!(
                "Keybearer has no credential for {server} in the vaults connected to {app}. Add one in Keybearer, then try again."
            ),
            Self::Disconnected => format!(
                "{app} is no longer connected to Keybearer. Connect it again in Keybearer (Apps), then restart {app}."
            ),
            Self::Unavailable(reason, _) => reason.clone(),
            Self::Unreachable(reason) => format!(
                "Keybearer could not reach {server}: {reason}. Check that the server is up and the address is right."
            ),
            Self::Refused(status) => format!(
                "{server} refused the credential Keybearer holds for it (HTTP {status}). Replace the token in Keybearer, then try again."
            ),
            Self::SessionEnded => format!(
                "{server} ended this session. Restart the server's connection in {app}."
            ),
            Self::NeedsScope(scope) => format!(
                "{server} needs more access than this sign-in grants (scope \"{scope}\"). Sign in again in Keybearer and allow it."
            ),
            Self::EndpointRefused(refused) => format!(
                "{server} said to send messages to {refused}; Keybearer did not send the credential there. Check the server's address in Keybearer (the one its documentation gives), or ask the server's operator."
            ),
            Self::Upstream(what) => format!("{server}: {what}"),
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::NoCredential => "not_found",
            Self::Disconnected => "not_connected",
            Self::Unavailable(_, code) => code,
            Self::Unreachable(_) => "unreachable",
            Self::Refused(_) => "refused",
            Self::SessionEnded => "session_ended",
            Self::NeedsScope(_) => "insufficient_scope",
            Self::EndpointRefused(_) => "endpoint_refused",
            Self::Upstream(_) => "upstream",
        }
    }
}

pub(crate) type BridgeClient = Client<Connector, Full<Bytes>>;

/// What a request is sent with: the credential's headers and their
/// needles, the use to record, and the OAuth grant it carries, if it is one.
type Authorized = (
    Headers,
    Arc<Needles>,
    Option<CredentialUse>,
    Option<Arc<keybearer_source::Injection>>,
);

/// An answer's body: the request's secrets covered as it is read.
pub(crate) type Answer = Redacted<Incoming, Box<dyn FnOnce() + Send>>;

/// Headers to add to a request; the values are secret (marked sensitive).
pub(crate) type Headers = Vec<(http::HeaderName, HeaderValue)>;

/// Where the `Authorization` of each request comes from.
pub(crate) enum Source {
    /// Looked up in an app connection's vaults for every request.
    Vaults {
        connection_id: String,
        app: String,
        source: Result<Arc<dyn CredentialSource>, Failure>,
        usage: Usage,
    },
    /// Handed over by a session (its proxy's secret, or a direct-mode credential's).
    Fixed(Headers),
}

pub(crate) struct Link {
    /// The normalised credential URL: what the token is looked up by.
    pub(crate) server_url: String,
    pub(crate) uri: Uri,
    pub(crate) app: String,
    source: Source,
    /// The needles of `Source::Fixed`'s headers (none for vaults: each
    /// injection brings its own).
    fixed: Arc<Needles>,
    pub(crate) client: BridgeClient,
    pub(crate) out: mpsc::UnboundedSender<Vec<u8>>,
    /// The last line written to stderr, so a failing burst says it once.
    last_complaint: Mutex<Option<String>>,
    /// The requests and streams under way.
    pub(crate) tasks: Tasks,
}

impl Link {
    pub(crate) fn new(
        server_url: String,
        source: Source,
        out: mpsc::UnboundedSender<Vec<u8>>,
    ) -> Result<Self, Error> {
        let uri: Uri = server_url
            .parse()
            .map_err(|_| Error::invalid("server", "This server address is not a valid URL."))?;
        let (app, fixed) = match &source {
            Source::Vaults { app, .. } => (app.clone(), Needles::default()),
            Source::Fixed(headers) => ("the agent".to_string(), keybearer_source::needles(headers)),
        };
        Ok(Self {
            server_url,
            uri,
            app,
            source,
            fixed: Arc::new(fixed),
            client: keybearer_net::upstream::client()?,
            out,
            last_complaint: Mutex::new(None),
            tasks: Tasks::default(),
        })
    }

    /// Whether the credential looked up now sends what `refused` sent (or
    /// cannot be looked up: nothing better to send).
    fn sends_the_same(
        &self,
        source: &dyn CredentialSource,
        refused: &keybearer_source::Injection,
    ) -> bool {
        let Source::Vaults { connection_id, .. } = &self.source else {
            return true;
        };
        match source.lookup(Scope::Connection(connection_id), &self.server_url) {
            Ok(Some(now)) => now.sends_the_same_as(refused),
            _ => true,
        }
    }

    /// This request's credential headers, the use to record (vaults only),
    /// and the injection when it reports refusals (an OAuth grant, a team
    /// credential: told of a 401).
    fn authorize(&self, method: &str) -> Result<Authorized, Failure> {
        let (connection_id, source) = match &self.source {
            Source::Fixed(headers) => {
                return Ok((headers.clone(), Arc::clone(&self.fixed), None, None))
            }
            Source::Vaults {
                connection_id,
                source,
                ..
            } => (connection_id, source.as_ref().map_err(Clone::clone)?),
        };
        let injection = match source.lookup(Scope::Connection(connection_id), &self.server_url) {
            Ok(Some(injection)) => injection,
            Ok(None) => return Err(Failure::NoCredential),
            Err(Error::NotFound {
                what: "connection", ..
            }) => return Err(Failure::Disconnected),
            Err(Error::NotFound { .. }) => return Err(Failure::NoCredential),
            Err(error) => {
                return Err(Failure::Unavailable(
                    format!("Keybearer could not open the credential: {error}"),
                    error.code().as_str(),
                ))
            }
        };
        let authorization = injection.headers().map(<[_]>::to_vec).ok_or_else(|| {
            Failure::Unavailable(
                "The token stored for this server cannot be sent in an HTTP header. Replace it in Keybearer.".into(),
                "invalid_input",
            )
        })?;
        let credential = &injection.resolution.credential;
        let used = CredentialUse {
            credential_id: credential.id.clone(),
            vault_id: credential.vault_id.clone(),
            upstream_url: self.server_url.clone(),
            session_id: None,
            connection_id: Some(connection_id.clone()),
            method: Some(method.to_string()),
            status: None,
            detail: None,
            at: Timestamp::now(),
            count: 1,
            kind: UseKind::Used,
        };
        // Reported back on a 401 (an OAuth grant is renewed, a team
        // credential checked for a newer version), then sent once more.
        let oauth = injection.reports_refusals().then(|| Arc::clone(&injection));
        let needles = Arc::clone(injection.echoes());
        Ok((authorization, needles, Some(used), oauth))
    }

    /// Sends `request` to `uri` (the server's origin) with the credential,
    /// and records the use with the status that came back.
    pub(crate) async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Answer>, Failure> {
        let (parts, body) = request.into_parts();
        let again = (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
            body.clone(),
        );
        let first = self.send_once(Request::from_parts(parts, body)).await;
        match first {
            // A credential the server refused that reports refusals (an
            // OAuth grant renewed, a team credential checked for a newer
            // version): once, then the request goes again with the new one.
            Err((Failure::Refused(401), Some(refused))) => {
                let Source::Vaults {
                    source: Ok(source), ..
                } = &self.source
                else {
                    return Err(Failure::Refused(401));
                };
                let source = Arc::clone(source);
                let before = Arc::clone(&refused);
                let asked = Arc::clone(&source);
                let renewed = tokio::task::spawn_blocking(move || source.refused(&refused)).await;
                match renewed {
                    Ok(Ok(())) => {}
                    Ok(Err(keybearer_base::Error::SignInRequired { .. })) => {
                        return Err(Failure::Unavailable(
                            format!("The sign-in for {} has expired and could not be renewed. Sign in again in Keybearer.", self.server_url),
                            "sign_in_required",
                        ))
                    }
                    _ => return Err(Failure::Refused(401)),
                }
                // The same headers again would only be refused again.
                if self.sends_the_same(asked.as_ref(), &before) {
                    return Err(Failure::Refused(401));
                }
                let (method, uri, headers, body) = again;
                let mut request = Request::new(body);
                *request.method_mut() = method;
                *request.uri_mut() = uri;
                *request.headers_mut() = headers;
                self.send_once(request)
                    .await
                    .map_err(|(failure, _)| failure)
            }
            // A step-up request: the scopes are kept for the next sign-in.
            Err((Failure::NeedsScope(scope), Some(grant))) => {
                if let Source::Vaults {
                    source: Ok(source), ..
                } = &self.source
                {
                    let source = Arc::clone(source);
                    let required = scope.clone();
                    let kept =
                        tokio::task::spawn_blocking(move || source.wants_scope(&grant, &required))
                            .await;
                    if let Ok(Err(error)) = kept {
                        tracing::warn!(code = %error.code(), "could not keep the scopes the server asked for");
                    }
                }
                Err(Failure::NeedsScope(scope))
            }
            other => other.map_err(|(failure, _)| failure),
        }
    }

    async fn send_once(
        &self,
        mut request: Request<Full<Bytes>>,
    ) -> Result<Response<Answer>, (Failure, Option<Arc<keybearer_source::Injection>>)> {
        let (headers, needles, used, oauth) = self
            .authorize(request.method().as_str())
            .map_err(|f| (f, None))?;
        // From here the token is on its way: the use is recorded whatever
        // happens, even if this request is stopped before its answer.
        let mut used = used.and_then(|used| self.pending(used));
        if let Some(authority) = request.uri().authority() {
            if let Ok(host) = HeaderValue::from_str(authority.as_str()) {
                request.headers_mut().insert(HOST, host);
            }
        }
        request
            .headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static("keybearer-bridge"));
        // Unencoded, so the answer can be searched for the credential.
        request
            .headers_mut()
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        for (name, value) in headers {
            request.headers_mut().insert(name, value);
        }
        let answer = self.client.request(request).await;
        let result = match answer {
            Ok(response) => {
                if let Some(used) = used.as_mut() {
                    used.used_mut().status = Some(i64::from(response.status().as_u16()));
                }
                let challenge = keybearer_oauth::parse_insufficient_scope(
                    response
                        .headers()
                        .get_all(http::header::WWW_AUTHENTICATE)
                        .iter()
                        .filter_map(|value| value.to_str().ok()),
                );
                match (response.status(), challenge) {
                    (StatusCode::FORBIDDEN, Some(needed)) => {
                        Err((Failure::NeedsScope(needed.scope.unwrap_or_default()), oauth))
                    }
                    (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => {
                        Err((Failure::Refused(response.status().as_u16()), oauth))
                    }
                    _ => self.redacted(response, needles, used.as_ref().map(Pending::used)),
                }
            }
            Err(error) => {
                let reason = keybearer_net::upstream::root_cause(&error);
                if let Some(used) = used.as_mut() {
                    used.used_mut().detail = Some(reason.clone());
                }
                Err((Failure::Unreachable(reason), None))
            }
        };
        drop(used); // recorded
        result
    }

    /// `response` with its body searched for `needles` as it is read; an
    /// echo is recorded as `credential.echoed` with `used`'s ids. Refused
    /// when it comes compressed (and is not empty).
    fn redacted(
        &self,
        response: Response<Incoming>,
        needles: Arc<Needles>,
        used: Option<&CredentialUse>,
    ) -> Result<Response<Answer>, (Failure, Option<Arc<keybearer_source::Injection>>)> {
        use hyper::body::Body;
        let (parts, body) = response.into_parts();
        let empty = body.is_end_stream() || body.size_hint().exact() == Some(0);
        if is_encoded(&parts.headers) && !empty {
            let failure = Failure::Upstream(
                "the server sent a compressed answer although Keybearer asked for it uncompressed; Keybearer cannot check a compressed answer, so it was not passed on. Ask the server's operator to send answers without compression.".into(),
            );
            return Err((failure, None));
        }
        let echoed = used.map(|used| CredentialUse {
            kind: UseKind::Echoed,
            detail: Some("body".into()),
            at: Timestamp::now(),
            ..used.clone()
        });
        let usage = match &self.source {
            Source::Vaults { usage, .. } => Some(Arc::clone(usage)),
            Source::Fixed(_) => None,
        };
        let report: Box<dyn FnOnce() + Send> = Box::new(move || {
            tracing::debug!("the server's answer repeated the credential; Keybearer covered it before the app saw it");
            if let (Some(echoed), Some(usage)) = (echoed, usage) {
                if let Some(sender) = super::lock(&usage).as_ref() {
                    let _ = sender.send(echoed);
                }
            }
        });
        Ok(Response::from_parts(
            parts,
            Redacted::new(body, needles, report),
        ))
    }

    /// `used`, recorded when the request is done with (vaults only).
    fn pending(&self, used: CredentialUse) -> Option<Pending> {
        match &self.source {
            Source::Vaults { usage, .. } => Some(Pending::new(usage, used)),
            Source::Fixed(_) => None,
        }
    }

    /// Stops recording: the recorder writes what it has and ends once the
    /// requests still under way are recorded.
    pub(crate) fn close_usage(&self) {
        if let Source::Vaults { usage, .. } = &self.source {
            if let Ok(mut usage) = usage.lock() {
                usage.take();
            }
        }
    }

    /// A message from the server, to the app: one JSON value on one line.
    pub(crate) fn write(&self, data: &[u8]) {
        if data.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if !message::is_json(data) {
            self.complain("the server sent a message that is not JSON; it was dropped");
            return;
        }
        let _ = self.out.send(message::one_line(data));
    }

    /// Every request in `peek` gets `failure` as its JSON-RPC error; the
    /// reason goes to stderr once.
    pub(crate) fn fail(&self, peek: &Peek, failure: &Failure) {
        let text = failure.message(self);
        for id in &peek.request_ids {
            let _ = self
                .out
                .send(message::error_answer(id, &text, failure.code()));
        }
        self.complain(&text);
    }

    pub(crate) fn fail_ids(&self, ids: &[Value], failure: &Failure) {
        let peek = Peek {
            request_ids: ids.to_vec(),
            ..Peek::default()
        };
        self.fail(&peek, failure);
    }

    /// One plain line on stderr (where apps show a server's log), not
    /// repeated while the same problem goes on. Never holds a token: the
    /// texts come from the failures above and the HTTP client's errors.
    #[allow(clippy::print_stderr)]
    pub(crate) fn complain(&self, text: &str) {
        let Ok(mut last) = self.last_complaint.lock() else {
            return;
        };
        if last.as_deref() != Some(text) {
            eprintln!("keybearer bridge: {text}");
            *last = Some(text.to_string());
        }
    }
}
