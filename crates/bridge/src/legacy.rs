//! Legacy HTTP+SSE (2024-11-05), the client half, relaying.
//!
//! The event stream is opened (GET, with the credential) when the app sends
//! its first message, not at start, so a bridge that is never used costs
//! the server nothing. The stream's `endpoint` event names where messages
//! go: it is judged by `reach::check`, the rule the proxy and the connection
//! test share (the server's own origin, in the folder of its address, a path
//! read one way). A refused endpoint gets nothing: the waiting requests get
//! an `endpoint_refused` error, stderr one line (the refused path, never a
//! secret), the stream is dropped, and the next message tries again. Every
//! message from the app is POSTed to an allowed endpoint; the answers and
//! the server's own messages arrive on the stream (`message` events) and go
//! to the app as they come.
//!
//! If the stream ends after it was set up, the server has forgotten the
//! session: requests still waiting get an error and the bridge ends, so the
//! app sees its server stop (and can start it again) instead of a bridge
//! that answers nothing. A stream that could not be opened (no credential,
//! server down) fails the waiting requests, and the next message tries again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use tokio::sync::{watch, Notify};

use super::link::{Failure, Link};
use super::lock;
use super::message::Peek;
use keybearer_base::reach::{self, Refused};
use keybearer_net::sse::EventReader;

/// How long a message waits for the stream's `endpoint` event.
const ENDPOINT_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
enum State {
    Closed,
    Opening,
    Ready(Uri),
    Failed(Failure),
}

pub(crate) struct Legacy {
    link: Arc<Link>,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    /// Requests POSTed whose answer has not come back on the stream yet.
    waiting: Mutex<HashSet<String>>,
    /// Told when an established stream ended: the bridge then stops.
    pub(crate) ended: Arc<Notify>,
}

impl Legacy {
    pub(crate) fn new(link: Arc<Link>) -> Arc<Self> {
        Arc::new(Self {
            link,
            state: Mutex::new(State::Closed),
            changed: watch::Sender::new(0),
            waiting: Mutex::new(HashSet::new()),
            ended: Arc::new(Notify::new()),
        })
    }

    pub(crate) fn handle(self: &Arc<Self>, line: Bytes, peek: Peek) {
        let this = Arc::clone(self);
        self.link.tasks.request(async move {
            match this.endpoint().await {
                Ok(endpoint) => this.post(endpoint, line, &peek).await,
                Err(failure) => this.link.fail(&peek, &failure),
            }
        });
    }

    fn set(&self, state: State) {
        *lock(&self.state) = state;
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// Where messages go, opening the stream first if needed.
    async fn endpoint(self: &Arc<Self>) -> Result<Uri, Failure> {
        let mut changes = self.changed.subscribe();
        {
            let mut state = lock(&self.state);
            match &*state {
                State::Ready(endpoint) => return Ok(endpoint.clone()),
                State::Opening => {}
                State::Closed | State::Failed(_) => {
                    *state = State::Opening;
                    let this = Arc::clone(self);
                    self.link.tasks.stream(async move { this.open().await });
                }
            }
        }
        let waited = tokio::time::timeout(ENDPOINT_WAIT, async {
            loop {
                if changes.changed().await.is_err() {
                    return Err(Failure::Upstream("the bridge is stopping".into()));
                }
                match &*lock(&self.state) {
                    State::Opening => continue,
                    State::Ready(endpoint) => return Ok(endpoint.clone()),
                    State::Failed(failure) => return Err(failure.clone()),
                    State::Closed => {
                        return Err(Failure::Upstream("the server closed the connection".into()))
                    }
                }
            }
        })
        .await;
        waited.unwrap_or_else(|_| {
            Err(Failure::Upstream(format!(
                "the server did not say where to send messages within {} seconds",
                ENDPOINT_WAIT.as_secs()
            )))
        })
    }

    /// Opens the event stream and reads it until it ends.
    async fn open(self: Arc<Self>) {
        let request = Request::builder()
            .method(Method::GET)
            .uri(self.link.uri.clone())
            .header(ACCEPT, "text/event-stream")
            .body(Full::new(Bytes::new()));
        let Ok(request) = request else {
            return self.set(State::Failed(Failure::Upstream("bad request".into())));
        };
        let response = match self.link.send(request).await {
            Ok(response) => response,
            Err(failure) => return self.set(State::Failed(failure)),
        };
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        if !response.status().is_success() || !content_type.starts_with("text/event-stream") {
            let failure = Failure::Upstream(format!(
                "the server answered HTTP {} without an event stream; is it an SSE server? (Check the credential's protocol in Keybearer.)",
                response.status().as_u16()
            ));
            return self.set(State::Failed(failure));
        }
        let mut body = response.into_body();
        let mut reader = EventReader::default();
        let mut established = false;
        // A refused endpoint ends the stream; the waiting requests hear why.
        let mut refusal = None;
        'stream: while let Some(Ok(frame)) = body.frame().await {
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            let Ok(events) = reader.push(&chunk) else {
                break;
            };
            for event in events {
                match event.name.as_deref() {
                    Some("endpoint") => match self.resolve(&event.data) {
                        Ok(endpoint) => {
                            established = true;
                            self.set(State::Ready(endpoint));
                        }
                        Err(failure) => {
                            self.set(State::Failed(failure.clone()));
                            refusal = Some(failure);
                            break 'stream;
                        }
                    },
                    None | Some("message") => self.deliver(&event.data),
                    Some(_) => {}
                }
            }
        }
        if !established {
            let mut state = lock(&self.state);
            if matches!(*state, State::Opening) {
                *state = State::Failed(Failure::Upstream(
                    "the server's event stream ended before it said where to send messages".into(),
                ));
            }
            drop(state);
            self.changed.send_modify(|generation| *generation += 1);
            return;
        }
        self.set(State::Closed);
        let ids: Vec<serde_json::Value> = lock(&self.waiting)
            .drain()
            .filter_map(|id| serde_json::from_str(&id).ok())
            .collect();
        let failure =
            refusal.unwrap_or_else(|| Failure::Upstream("the server closed the connection".into()));
        self.link.fail_ids(&ids, &failure);
        self.link
            .complain("the server closed its event stream; the bridge stops");
        self.ended.notify_one();
    }

    /// The `endpoint` event's URL, if the credential may go there.
    fn resolve(&self, data: &[u8]) -> Result<Uri, Failure> {
        let refused = Failure::EndpointRefused;
        let text = std::str::from_utf8(data).map_err(|_| refused(Refused::OtherServer))?;
        let base =
            url::Url::parse(&self.link.server_url).map_err(|_| refused(Refused::OtherServer))?;
        let endpoint = reach::check(&base, text).map_err(refused)?;
        endpoint
            .as_str()
            .parse()
            .map_err(|_| refused(Refused::Ambiguous))
    }

    fn deliver(&self, data: &[u8]) {
        if let Some(peek) = Peek::parse(data) {
            if let Some(id) = peek.response_id {
                lock(&self.waiting).remove(&id.to_string());
            }
        }
        self.link.write(data);
    }

    async fn post(&self, endpoint: Uri, line: Bytes, peek: &Peek) {
        {
            let mut waiting = lock(&self.waiting);
            waiting.extend(peek.request_ids.iter().map(ToString::to_string));
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri(endpoint)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(line));
        let Ok(request) = request else {
            return;
        };
        let failure = match self.link.send(request).await {
            Ok(response) if response.status().is_success() => {
                let _ = response.into_body().collect().await;
                return;
            }
            Ok(response) => Failure::Upstream(format!(
                "the server answered HTTP {}",
                response.status().as_u16()
            )),
            Err(failure) => failure,
        };
        {
            let mut waiting = lock(&self.waiting);
            for id in &peek.request_ids {
                waiting.remove(&id.to_string());
            }
        }
        self.link.fail(peek, &failure);
    }
}
