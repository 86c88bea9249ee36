//! Streamable HTTP (2025-03-26 … 2026-07-28), the client half, relaying.
//!
//! Each message from the app is POSTed on its own, concurrently, with the
//! headers a stdio client cannot set: `Accept`, `Mcp-Session-Id` (learned
//! from the initialize answer, never sent with `initialize`),
//! `MCP-Protocol-Version` (the initialize result's, or the message's own
//! `_meta` claim on 2026-07-28, which also gives `Mcp-Method` and
//! `Mcp-Name`). The answer is a JSON body or an event stream whose every
//! event (the answer, and the server's requests and notifications on the
//! way) goes to the app as it arrives. After `notifications/initialized`
//! the GET stream is opened for the server's own messages (a 405 means the
//! server has none); at the end of stdin the session is DELETEd.
//!
//! Cancellation: `notifications/cancelled` is relayed, and the cancelled
//! request's own stream is dropped (how 2026-07-28 cancels).
//! Limits: no resumption of a broken stream (`Last-Event-ID`) on POST
//! streams; the GET stream is re-opened a few times with a growing pause.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::task::AbortHandle;

use super::link::{Answer, Failure, Link};
use super::lock;
use super::message::{self, Peek, STATELESS_REVISION};
use keybearer_net::sse::{EventReader, MAX_EVENT};

const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// How often a GET stream that ended is opened again before giving up.
const LISTEN_RETRIES: u32 = 5;

pub(crate) struct Streamable {
    link: Arc<Link>,
    session: Mutex<Option<HeaderValue>>,
    /// The revision the initialize answer named: the header on later requests.
    version: Mutex<Option<String>>,
    /// Ids of initialize requests waiting for their answer.
    initializing: Mutex<Vec<Value>>,
    listening: AtomicBool,
    /// The GET stream's task, stopped when the app is gone: left running it
    /// would open the stream again (and renew an expired grant) in a process
    /// about to be killed, losing a rotated refresh token.
    listener: Mutex<Option<AbortHandle>>,
    /// Requests on their way, by id, so a cancellation can drop their stream.
    in_flight: Mutex<HashMap<String, AbortHandle>>,
}

impl Streamable {
    pub(crate) fn new(link: Arc<Link>) -> Arc<Self> {
        Arc::new(Self {
            link,
            session: Mutex::new(None),
            version: Mutex::new(None),
            initializing: Mutex::new(Vec::new()),
            listening: AtomicBool::new(false),
            listener: Mutex::new(None),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// Relays one message from the app; returns at once (the POST runs on).
    pub(crate) fn handle(self: &Arc<Self>, line: Bytes, peek: Peek) {
        if peek.is_method("notifications/cancelled") {
            if let Some(cancelled) = peek.cancels.as_ref() {
                if let Some(task) = lock(&self.in_flight).remove(&cancelled.to_string()) {
                    task.abort();
                }
            }
        }
        if peek.is_method("initialize") {
            lock(&self.initializing).extend(peek.request_ids.iter().cloned());
        }
        let key = (!peek.batch)
            .then(|| peek.request_ids.first().map(Value::to_string))
            .flatten();
        let this = Arc::clone(self);
        // Held while spawning, so the task cannot remove its entry before
        // it is there.
        let mut in_flight = lock(&self.in_flight);
        let task = self.link.tasks.request({
            let key = key.clone();
            async move {
                this.post(line, &peek).await;
                if let Some(key) = key {
                    lock(&this.in_flight).remove(&key);
                }
            }
        });
        if let Some(key) = key {
            in_flight.insert(key, task.abort_handle());
        }
    }

    async fn post(self: &Arc<Self>, line: Bytes, peek: &Peek) {
        let initialize = peek.is_method("initialize");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.link.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(version) = peek.envelope_version.as_deref() {
            request = request.header(PROTOCOL_VERSION, version);
            if let Some(method) = peek.method.as_deref() {
                request = request.header(MCP_METHOD, method);
            }
            if let Some(name) = peek.name.as_deref() {
                request = request.header(MCP_NAME, message::header_safe_name(name));
            }
        } else if let Some(version) = lock(&self.version).clone() {
            request = request.header(PROTOCOL_VERSION, version);
        }
        let session = if initialize {
            None
        } else {
            lock(&self.session).clone()
        };
        if let Some(session) = session.clone() {
            request = request.header(SESSION_ID, session);
        }
        let request = match request.body(Full::new(line)) {
            Ok(request) => request,
            Err(error) => {
                let failure = Failure::Upstream(format!("the message could not be sent ({error})"));
                return self.link.fail(peek, &failure);
            }
        };
        let response = match self.link.send(request).await {
            Ok(response) => response,
            Err(failure) => return self.link.fail(peek, &failure),
        };
        let status = response.status();
        if status == StatusCode::NOT_FOUND && session.is_some() {
            return self.link.fail(peek, &Failure::SessionEnded);
        }
        if !status.is_success() {
            return self.refused(response, peek).await;
        }
        if initialize {
            let learned = response.headers().get(SESSION_ID).cloned();
            *lock(&self.session) = learned;
        }
        if peek.is_method("notifications/initialized") {
            self.listen();
        }
        if status == StatusCode::ACCEPTED || !peek.is_request() {
            return drain(response).await;
        }
        if is_event_stream(&response) {
            self.relay_stream(response, peek).await;
        } else {
            match read_body(response).await {
                Ok(body) => {
                    self.deliver(&body);
                }
                Err(failure) => self.link.fail(peek, &failure),
            }
        }
    }

    /// A 4xx/5xx answer: a JSON-RPC error in it is the server's own answer
    /// and goes to the app as is; anything else becomes Keybearer's error.
    async fn refused(&self, response: hyper::Response<Answer>, peek: &Peek) {
        let status = response.status();
        let body = read_body(response).await.unwrap_or_default();
        if let Some(answer) = Peek::parse(&body) {
            let answers_us = answer
                .response_id
                .as_ref()
                .is_some_and(|id| peek.request_ids.contains(id));
            if answers_us {
                return self.link.write(&body);
            }
        }
        let failure = Failure::Upstream(format!("the server answered HTTP {}", status.as_u16()));
        self.link.fail(peek, &failure);
    }

    /// Passes each event of a POST's stream on as it arrives.
    async fn relay_stream(&self, response: hyper::Response<Answer>, peek: &Peek) {
        let mut body = response.into_body();
        let mut reader = EventReader::default();
        let mut answered = false;
        while let Some(frame) = body.frame().await {
            let chunk = match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(chunk) => chunk,
                    Err(_) => continue,
                },
                Err(error) => {
                    let failure = Failure::Upstream(format!("the answer broke off ({error})"));
                    if !answered {
                        self.link.fail(peek, &failure);
                    }
                    return;
                }
            };
            let Ok(events) = reader.push(&chunk) else {
                let failure = Failure::Upstream("an event larger than 64 MiB was refused".into());
                return self.link.fail(peek, &failure);
            };
            for event in events {
                if event.name.as_deref().is_some_and(|name| name != "message") {
                    continue;
                }
                if let Some(answer) = self.deliver(&event.data) {
                    answered |= peek.request_ids.contains(&answer);
                }
            }
        }
        if !answered && peek.is_request() {
            let failure =
                Failure::Upstream("the server closed the stream without answering".into());
            self.link.fail(peek, &failure);
        }
    }

    /// Writes a server message to the app; learns the revision from an
    /// initialize answer. Returns the id it answers, if it is an answer.
    fn deliver(&self, data: &[u8]) -> Option<Value> {
        if data.iter().all(u8::is_ascii_whitespace) {
            return None; // a priming event
        }
        let peek = Peek::parse(data);
        if let Some(peek) = peek.as_ref() {
            if let Some(id) = peek.response_id.as_ref() {
                let mut waiting = lock(&self.initializing);
                if let Some(at) = waiting.iter().position(|w| w == id) {
                    waiting.remove(at);
                    if let Some(version) = peek.result_version.clone() {
                        *lock(&self.version) = Some(version);
                    }
                }
            }
        }
        self.link.write(data);
        peek.and_then(|peek| peek.response_id)
    }

    /// Opens the GET stream once per session, for the server's own messages.
    fn listen(self: &Arc<Self>) {
        let stateless = lock(&self.version).as_deref() == Some(STATELESS_REVISION);
        if stateless || self.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = Arc::clone(self);
        let mut listener = lock(&self.listener);
        let task = tokio::spawn(async move {
            let mut last_event: Option<String> = None;
            for attempt in 0..LISTEN_RETRIES {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_secs(1 << attempt.min(4))).await;
                }
                match this.listen_once(&mut last_event).await {
                    Listened::NotOffered => return,
                    Listened::Ended => {}
                }
            }
            this.link
                .complain("the server's event stream ended; its notifications no longer arrive");
        });
        *listener = Some(task.abort_handle());
    }

    async fn listen_once(&self, last_event: &mut Option<String>) -> Listened {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(self.link.uri.clone())
            .header(ACCEPT, "text/event-stream");
        if let Some(session) = lock(&self.session).clone() {
            request = request.header(SESSION_ID, session);
        }
        if let Some(version) = lock(&self.version).clone() {
            request = request.header(PROTOCOL_VERSION, version);
        }
        if let Some(id) = last_event.as_deref() {
            request = request.header(LAST_EVENT_ID, id);
        }
        let Ok(request) = request.body(Full::new(Bytes::new())) else {
            return Listened::NotOffered;
        };
        let response = match self.link.send(request).await {
            Ok(response) => response,
            Err(failure) => {
                self.link.complain(&failure.message(&self.link));
                return Listened::Ended;
            }
        };
        if response.status() == StatusCode::METHOD_NOT_ALLOWED || !is_event_stream(&response) {
            drain(response).await;
            return Listened::NotOffered;
        }
        let mut body = response.into_body();
        let mut reader = EventReader::default();
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            let Ok(events) = reader.push(&chunk) else {
                return Listened::Ended;
            };
            for event in events {
                if event.id.is_some() {
                    last_event.clone_from(&event.id);
                }
                if event.name.as_deref().is_none_or(|name| name == "message") {
                    self.deliver(&event.data);
                }
            }
        }
        Listened::Ended
    }

    /// The app is gone: stop listening, end the server's session, if it
    /// has one.
    pub(crate) async fn close(&self) {
        if let Some(listener) = lock(&self.listener).take() {
            listener.abort();
        }
        let Some(session) = lock(&self.session).clone() else {
            return;
        };
        let mut request = Request::builder()
            .method(Method::DELETE)
            .uri(self.link.uri.clone())
            .header(SESSION_ID, session);
        if let Some(version) = lock(&self.version).clone() {
            request = request.header(PROTOCOL_VERSION, version);
        }
        if let Ok(request) = request.body(Full::new(Bytes::new())) {
            if let Ok(response) = self.link.send(request).await {
                drain(response).await;
            }
        }
    }
}

enum Listened {
    /// 405, or no event stream: the server sends nothing of its own.
    NotOffered,
    Ended,
}

fn is_event_stream(response: &hyper::Response<Answer>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The whole body, up to [`MAX_EVENT`] bytes.
async fn read_body(response: hyper::Response<Answer>) -> Result<Bytes, Failure> {
    let limited = http_body_util::Limited::new(response.into_body(), MAX_EVENT);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(Failure::Upstream(format!(
            "the answer could not be read ({error})"
        ))),
    }
}

async fn drain(response: hyper::Response<Answer>) {
    let _ = read_body(response).await;
}
