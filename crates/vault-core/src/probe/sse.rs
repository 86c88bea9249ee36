//! Server-sent events: reading them (both transports answer with event
//! streams) and the legacy SSE transport (2024-11-05), which only knows the
//! `initialize` handshake.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::Method;
use url::Url;

use super::messages::{initialize_request, initialize_result, probe_answer};
use super::{check_status, content_type, not_mcp, ConnectionOutcome, ConnectionTest, Http, Probe};
use crate::model::Protocol;
use crate::upstream::blocking::Answer;

/// Enough for any real answer to a probe; stops a hostile stream early.
const MAX_STREAM_LINES: usize = 2_000;

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
    check_status(&stream, Protocol::Sse)?;
    let status = stream.status.as_u16();
    if !content_type(&stream).starts_with("text/event-stream") {
        return Err(not_mcp(status, Protocol::Sse));
    }
    let mut lines = Lines::new(stream);
    let endpoint = next_event(&mut lines, |event, data| {
        (event == "endpoint").then(|| data.to_string())
    })
    .ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    let base = Url::parse(url).map_err(|_| not_mcp(status, Protocol::Sse))?;
    let endpoint = base
        .join(endpoint.trim())
        .map_err(|_| not_mcp(status, Protocol::Sse))?;
    if endpoint.origin() != base.origin() {
        return Err(ConnectionTest::new(
            ConnectionOutcome::NotMcp,
            "The server asked to send messages to a different address, so Keybearer did not send your token there.",
            Some(status),
        ));
    }
    let posted = client.send(
        Method::POST,
        endpoint.as_str(),
        auth,
        &[(CONTENT_TYPE, "application/json")],
        Some(initialize_request().to_string()),
    )?;
    check_status(&posted, Protocol::Sse)?;
    drop(posted);
    let answer =
        next_event(&mut lines, probe_answer).ok_or_else(|| not_mcp(status, Protocol::Sse))?;
    initialize_result(&answer, status, Protocol::Sse)
}

/// The answer to the probe's request in a response's event stream, if the
/// stream carries one.
pub(super) fn read_answer(response: Answer<'_>) -> Option<String> {
    next_event(&mut Lines::new(response), probe_answer)
}

/// The lines of an event stream as they arrive (a failed or timed-out read
/// ends them).
struct Lines<'c> {
    answer: Answer<'c>,
    pending: Vec<u8>,
    /// Bytes read so far, against [`MAX_STREAM_BYTES`].
    read: usize,
    ended: bool,
}

/// The most read from one stream; a server sending more ends it (a real
/// answer to a probe is a few KiB).
const MAX_STREAM_BYTES: usize = 1024 * 1024;

impl<'c> Lines<'c> {
    fn new(answer: Answer<'c>) -> Self {
        Self {
            answer,
            pending: Vec::new(),
            read: 0,
            ended: false,
        }
    }
}

impl Iterator for Lines<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.pending.iter().position(|byte| *byte == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(String::from_utf8_lossy(&line).into_owned());
            }
            if self.ended || self.read > MAX_STREAM_BYTES {
                return None;
            }
            match self.answer.chunk() {
                Ok(Some(data)) => {
                    self.read += data.len();
                    self.pending.extend_from_slice(&data);
                }
                Ok(None) | Err(_) => {
                    self.ended = true;
                    if self.pending.is_empty() {
                        return None;
                    }
                    self.pending.push(b'\n');
                }
            }
        }
    }
}

/// Reads server-sent events until `pick` accepts one (event name, data).
fn next_event(
    lines: &mut impl Iterator<Item = String>,
    pick: impl Fn(&str, &str) -> Option<String>,
) -> Option<String> {
    let mut event = String::from("message");
    let mut data = String::new();
    for line in lines.take(MAX_STREAM_LINES) {
        if line.is_empty() {
            if !data.is_empty() {
                if let Some(found) = pick(&event, &data) {
                    return Some(found);
                }
            }
            event = String::from("message");
            data.clear();
        } else if let Some(value) = line.strip_prefix("event:") {
            event = value.trim().to_string();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_parser_reads_named_events_and_multiline_data() {
        let text = ": comment\nevent: endpoint\ndata: /messages/?session_id=abc\n\nevent: message\ndata: {\"a\":\ndata: 1}\n\n";
        let mut lines = text.lines().map(String::from);
        let endpoint = next_event(&mut lines, |e, d| (e == "endpoint").then(|| d.to_string()));
        assert_eq!(endpoint.as_deref(), Some("/messages/?session_id=abc"));
        let message = next_event(&mut lines, |e, d| (e == "message").then(|| d.to_string()));
        assert_eq!(message.as_deref(), Some("{\"a\":\n1}"));
    }

    #[test]
    fn the_probe_answer_is_found_after_notifications() {
        let text = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let mut lines = text.lines().map(String::from);
        let answer = next_event(&mut lines, probe_answer).expect("answer");
        assert!(answer.contains("\"id\":1"));
    }
}
