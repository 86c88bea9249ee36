//! Server-sent events: reading them (both transports answer with event
//! streams) and the legacy SSE transport (2024-11-05), which only knows the
//! `initialize` handshake. The stream's `endpoint` is judged by
//! `reach::check`, the rule the proxy and the bridge share: the token is
//! POSTed only to the server's own origin, in the folder of its address.

use std::collections::VecDeque;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::Method;
use url::Url;

use super::messages::{initialize_request, initialize_result, probe_answer};
use super::{check_status, content_type, not_mcp, ConnectionOutcome, ConnectionTest, Http, Probe};
use crate::model::Protocol;
use crate::reach;
use crate::upstream::blocking::Answer;
use keybearer_net::sse::{Event, EventReader};

/// GET the event stream, POST `initialize` to the endpoint it names, read the
/// answer from the stream.
pub(super) fn probe(client: &Http, url: &str, auth: &super::Auth) -> Probe {
    let stream = client.send(
        Method::GET,
        url,
        auth,
        &[(ACCEPT, "text/event-stream")],
        None,
    )?;
    check_status(&stream, url, Protocol::Sse)?;
    let status = stream.status.as_u16();
    if !content_type(&stream).starts_with("text/event-stream") {
        return Err(not_mcp(status, Protocol::Sse));
    }
    let mut events = Events::new(stream);
    let endpoint = next_event(&mut events, |event, data| {
        (event == "endpoint").then(|| data.to_string())
    })
    .ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    let base = Url::parse(url).map_err(|_| not_mcp(status, Protocol::Sse))?;
    let endpoint = reach::check(&base, &endpoint).map_err(|refused| {
        ConnectionTest::new(
            ConnectionOutcome::NotMcp,
            format!("The server asked to send messages to {refused}, so Keybearer did not send your token there."),
            Some(status),
        )
    })?;
    let posted = client.send(
        Method::POST,
        endpoint.as_str(),
        auth,
        &[(CONTENT_TYPE, "application/json")],
        Some(initialize_request().to_string()),
    )?;
    check_status(&posted, endpoint.as_str(), Protocol::Sse)?;
    drop(posted);
    let answer =
        next_event(&mut events, probe_answer).ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    initialize_result(&answer, status, Protocol::Sse)
}

/// Whether a response's event stream starts with the legacy SSE transport's
/// `endpoint` event (its first event; read no further).
pub(super) fn announces_endpoint(response: Answer<'_>) -> bool {
    Events::new(response)
        .find(|event| !event.data.is_empty())
        .is_some_and(|event| event.name.as_deref() == Some("endpoint"))
}

/// The answer to the probe's request in a response's event stream, if the
/// stream carries one.
pub(super) fn read_answer(response: Answer<'_>) -> Option<String> {
    next_event(&mut Events::new(response), probe_answer)
}

/// The events of a response's stream as they arrive, parsed by the bridge's
/// reader (`bridge/events.rs`); a failed or timed-out read, an oversized
/// event or more than [`MAX_STREAM_BYTES`] end them.
struct Events<'c> {
    answer: Answer<'c>,
    reader: EventReader,
    ready: VecDeque<Event>,
    /// Bytes read so far.
    read: usize,
}

/// The most read from one stream; a server sending more ends it (a real
/// answer to a probe is a few KiB).
const MAX_STREAM_BYTES: usize = 1024 * 1024;

impl<'c> Events<'c> {
    fn new(answer: Answer<'c>) -> Self {
        Self {
            answer,
            reader: EventReader::default(),
            ready: VecDeque::new(),
            read: 0,
        }
    }
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.read > MAX_STREAM_BYTES {
                return None;
            }
            let data = self.answer.chunk().ok()??;
            self.read += data.len();
            self.ready.extend(self.reader.push(&data).ok()?);
        }
    }
}

/// Reads events until `pick` accepts one (event name, data); events
/// without data are passed over.
fn next_event(
    events: &mut impl Iterator<Item = Event>,
    pick: impl Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    events.find_map(|event| {
        let data = String::from_utf8_lossy(&event.data);
        if data.is_empty() {
            return None;
        }
        pick(event.name.as_deref().unwrap_or("message"), &data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of `text`, as the reader makes them.
    fn events(text: &str) -> std::vec::IntoIter<Event> {
        EventReader::default()
            .push(text.as_bytes())
            .expect("small events")
            .into_iter()
    }

    #[test]
    fn sse_parser_reads_named_events_and_multiline_data() {
        let text = ": comment\nevent: endpoint\ndata: /messages/?session_id=abc\n\nevent: message\ndata: {\"a\":\ndata: 1}\n\n";
        let mut lines = events(text);
        let endpoint = next_event(&mut lines, |e, d| (e == "endpoint").then(|| d.to_string()));
        assert_eq!(endpoint.as_deref(), Some("/messages/?session_id=abc"));
        let message = next_event(&mut lines, |e, d| (e == "message").then(|| d.to_string()));
        assert_eq!(message.as_deref(), Some("{\"a\":\n1}"));
    }

    #[test]
    fn the_probe_answer_is_found_after_notifications() {
        let text = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let mut lines = events(text);
        let answer = next_event(&mut lines, probe_answer).expect("answer");
        assert!(answer.contains("\"id\":1"));
    }
}
