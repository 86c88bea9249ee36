//! Legacy SSE: checks every `endpoint` event while the stream keeps flowing.
//! An endpoint on the upstream's own origin is learned as a path the token
//! may go to (and rewritten to the listener when absolute; relative ones
//! resolve against the listener by themselves). An endpoint on any other
//! origin is refused: the event is never completed and the stream ends, so
//! the agent never sends its session secret there.
//!
//! Bytes are held back only until the event they belong to is complete,
//! which costs the agent nothing: an SSE client dispatches an event only at
//! its closing blank line. Events larger than [`MAX_HELD_EVENT`] are passed
//! through as they arrive (a long line as soon as it is longer than any
//! `event: endpoint` line can be), so memory stays bounded; an endpoint
//! event that large is refused, since a real one is one URL.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};

use super::origin::{OriginMap, Target};
use super::paths::AllowedPaths;

/// `endpoint` events are a URL long; anything bigger is some other event.
pub(crate) const MAX_HELD_EVENT: usize = 64 * 1024;

/// A partial line shorter than this is held until it ends, even while an
/// event is passing through: it could still be an `event: endpoint` line.
const SHORT_LINE: usize = 64;

/// What the agent sees instead of a refused endpoint event.
const REFUSED: &[u8] =
    b": Keybearer refused an endpoint on another server; this stream ends here.\n";

/// The pure part: feed it the stream's bytes, get back what may be sent.
pub(crate) struct EndpointRewriter {
    origins: OriginMap,
    paths: Arc<AllowedPaths>,
    /// An endpoint on another origin was seen: nothing more is sent.
    refused: bool,
    /// The stream's start was checked for a byte order mark.
    bom_checked: bool,
    /// Bytes received but not sent yet: the current event's start.
    held: BytesMut,
    /// Where in `held` the line being read starts.
    line_start: usize,
    /// Part of the current line was already sent, so it is not blank.
    mid_line: bool,
    /// The current event has an `event: endpoint` field.
    endpoint: bool,
    /// Part of the current event was already sent; it passes unrewritten.
    passing: bool,
    /// The last chunk ended in `\r`: a `\n` opening the next one belongs to it.
    after_cr: bool,
}

/// Where the next line ends in `bytes` from `from`: (end of content, start of
/// next line). A `\r` at the very end counts as a line end at once, so an
/// event is never held back waiting to see what follows it; a `\n` opening
/// the next chunk is then skipped as the rest of that `\r\n`.
fn next_line(bytes: &[u8], from: usize) -> Option<(usize, usize)> {
    let offset = bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')?;
    let end = from + offset;
    match (bytes[end], bytes.get(end + 1)) {
        (b'\r', Some(b'\n')) => Some((end, end + 2)),
        _ => Some((end, end + 1)),
    }
}

/// The value of an SSE field line `name: value` (one optional space after the colon).
fn field<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(name)?.strip_prefix(b":")?;
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

impl EndpointRewriter {
    pub(crate) fn new(origins: OriginMap, paths: Arc<AllowedPaths>) -> Self {
        Self {
            origins,
            paths,
            refused: false,
            bom_checked: false,
            held: BytesMut::new(),
            line_start: 0,
            mid_line: false,
            endpoint: false,
            passing: false,
            after_cr: false,
        }
    }

    /// Whether an endpoint on another origin ended the stream.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }

    /// Takes the next chunk of the stream; returns what can be sent now.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Bytes {
        if chunk.is_empty() || self.refused {
            return Bytes::new();
        }
        self.held.extend_from_slice(chunk);
        if !self.bom_checked {
            // Clients skip a UTF-8 byte order mark at the start of the
            // stream; so must the parser that looks for `event: endpoint`.
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            if self.held.len() < BOM.len() && BOM.starts_with(&self.held) {
                return Bytes::new();
            }
            if self.held.starts_with(BOM) {
                let _ = self.held.split_to(BOM.len());
            }
            self.bom_checked = true;
        }
        if std::mem::take(&mut self.after_cr) && self.held.get(self.line_start) == Some(&b'\n') {
            self.line_start += 1;
        }
        let mut out = BytesMut::new();
        while let Some((end, next)) = next_line(&self.held, self.line_start) {
            self.after_cr = next == self.held.len() && self.held[end] == b'\r';
            let line_start = self.line_start;
            let blank = end == line_start && !self.mid_line;
            if !blank && !self.mid_line {
                if let Some(name) = field(&self.held[line_start..end], b"event") {
                    self.endpoint = name == b"endpoint";
                    if self.endpoint && self.passing {
                        // Too big to be a real endpoint event, and its name
                        // comes after data already sent: never complete it.
                        return self.refuse(out, line_start);
                    }
                }
            }
            self.mid_line = false;
            self.line_start = next;
            if blank {
                let event = self.held.split_to(next);
                if self.endpoint && !self.passing {
                    match self.rewrite_event(&event) {
                        Some(rewritten) => out.extend_from_slice(&rewritten),
                        None => return self.refuse(out, 0),
                    }
                } else {
                    out.extend_from_slice(&event);
                }
                self.line_start = 0;
                self.endpoint = false;
                self.passing = false;
            }
        }
        if !self.passing && self.held.len() > MAX_HELD_EVENT {
            if self.endpoint {
                return self.refuse(out, 0);
            }
            self.passing = true;
        }
        if self.passing {
            // Send what we have, but hold a short partial line: it may yet
            // turn out to be `event: endpoint`.
            let partial = self.held.len() - self.line_start;
            let keep = if partial < SHORT_LINE && !self.mid_line {
                partial
            } else {
                0
            };
            let send = self.held.len() - keep;
            if keep == 0 && partial > 0 {
                self.mid_line = true;
            }
            out.extend_from_slice(&self.held.split_to(send));
            self.line_start = 0;
        }
        out.freeze()
    }

    /// The end of the stream: whatever is left goes out as it is (an event
    /// without its closing blank line is never dispatched anyway).
    pub(crate) fn finish(&mut self) -> Bytes {
        self.line_start = 0;
        if self.refused {
            return Bytes::new();
        }
        self.held.split().freeze()
    }

    /// Ends the stream: what was complete before `cut` (an offset in
    /// `held`) goes out, then a comment; the refused event never completes.
    fn refuse(&mut self, mut out: BytesMut, cut: usize) -> Bytes {
        tracing::warn!("an SSE endpoint on another server (or too large to be one) was refused; the stream was ended");
        if cut > 0 {
            out.extend_from_slice(&self.held[..cut]);
        }
        out.extend_from_slice(REFUSED);
        self.refused = true;
        self.held.clear();
        out.freeze()
    }

    /// The endpoint event with its URL pointed at the listener when it was
    /// absolute; `None` when it names another origin.
    fn rewrite_event(&self, event: &[u8]) -> Option<Vec<u8>> {
        // A client joins several data lines with a line break, and a URL
        // parser drops that break: `http:/` + `/evil.example/x` would read as
        // another origin. A real endpoint is one line; anything else is refused.
        let mut lines = 0;
        let mut start = 0;
        while let Some((end, next)) = next_line(event, start) {
            if field(&event[start..end], b"data").is_some() {
                lines += 1;
            }
            start = next;
        }
        if lines > 1 {
            return None;
        }
        let mut out = Vec::with_capacity(event.len() + 32);
        let mut start = 0;
        while let Some((end, next)) = next_line(event, start) {
            let line = &event[start..end];
            match field(line, b"data") {
                Some(value) => {
                    let value = std::str::from_utf8(value).ok()?;
                    match self.origins.target(value) {
                        Target::Upstream(path) => self.paths.learn(&path),
                        Target::Elsewhere => return None,
                    }
                    match self.origins.to_listener(value) {
                        Some(url) => {
                            out.extend_from_slice(b"data: ");
                            out.extend_from_slice(url.as_bytes());
                        }
                        None => out.extend_from_slice(line),
                    }
                }
                None => out.extend_from_slice(line),
            }
            out.extend_from_slice(&event[end..next]);
            start = next;
        }
        out.extend_from_slice(&event[start..]);
        Some(out)
    }
}

/// A response body run through an [`EndpointRewriter`], frame by frame.
pub(crate) struct RewrittenStream<B> {
    inner: B,
    rewriter: EndpointRewriter,
    trailers: Option<http::HeaderMap>,
    ended: bool,
}

impl<B> RewrittenStream<B> {
    pub(crate) fn new(inner: B, origins: OriginMap, paths: Arc<AllowedPaths>) -> Self {
        Self {
            inner,
            rewriter: EndpointRewriter::new(origins, paths),
            trailers: None,
            ended: false,
        }
    }
}

impl<B> Body for RewrittenStream<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        loop {
            if self.ended {
                let rest = self.rewriter.finish();
                if !rest.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
                return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            match ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                None => self.ended = true,
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = self.rewriter.push(&data);
                        if self.rewriter.refused() {
                            // Nothing more from this upstream reaches the agent.
                            self.ended = true;
                            self.trailers = None;
                        }
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers = Some(trailers);
                        }
                        self.ended = true;
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.trailers.is_none() && self.rewriter.held.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewriter() -> EndpointRewriter {
        let upstream = url::Url::parse("http://127.0.0.1:9000/sse").expect("url");
        EndpointRewriter::new(
            OriginMap::new(&upstream, 4567),
            Arc::new(AllowedPaths::new("/sse")),
        )
    }

    /// Feeds `input` in pieces of `size` bytes; returns the whole output and
    /// how much was out after each piece.
    fn run(input: &str, size: usize) -> String {
        let mut rewriter = rewriter();
        let mut out = Vec::new();
        for piece in input.as_bytes().chunks(size) {
            out.extend_from_slice(&rewriter.push(piece));
        }
        out.extend_from_slice(&rewriter.finish());
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn absolute_endpoint_on_the_upstream_is_rewritten_in_any_chunking() {
        let input =
            "event: endpoint\r\ndata: http://127.0.0.1:9000/messages/?session_id=ab\r\n\r\n\
                     event: message\r\ndata: {\"url\":\"http://127.0.0.1:9000/x\"}\r\n\r\n";
        let want = "event: endpoint\r\ndata: http://127.0.0.1:4567/messages/?session_id=ab\r\n\r\n\
                    event: message\r\ndata: {\"url\":\"http://127.0.0.1:9000/x\"}\r\n\r\n";
        for size in [1, 2, 3, 7, 16, 1000] {
            assert_eq!(run(input, size), want, "chunks of {size}");
        }
        // LF-only and CR-only line ends, data before the event name.
        assert_eq!(
            run("data: http://127.0.0.1:9000/m\nevent: endpoint\n\n", 1),
            "data: http://127.0.0.1:4567/m\nevent: endpoint\n\n"
        );
        assert_eq!(
            run("event:endpoint\rdata:http://127.0.0.1:9000/m\r\r", 1),
            "event:endpoint\rdata: http://127.0.0.1:4567/m\r\r"
        );
    }

    #[test]
    fn relative_endpoints_and_other_events_pass_unchanged() {
        for input in [
            "event: endpoint\ndata: /messages/?session_id=ab\n\n",
            "event: message\ndata: http://127.0.0.1:9000/messages\n\n",
            ": comment\n\nretry: 10\n\n",
            "event: endpoint\ndata: http://127.0.0.1:9000/unfinished",
        ] {
            assert_eq!(run(input, 5), input);
        }
    }

    #[test]
    fn endpoint_paths_on_the_upstream_are_learned() {
        let mut rewriter = rewriter();
        rewriter.push(b"event: endpoint\ndata: /messages/?session_id=ab\n\n");
        rewriter.push(b"event: endpoint\ndata: http://127.0.0.1:9000/other?x=1\n\n");
        assert!(rewriter.paths.allows("/messages/"));
        assert!(rewriter.paths.allows("/other"));
        assert!(!rewriter.paths.allows("/elsewhere"));
        assert!(!rewriter.refused());
    }

    #[test]
    fn an_endpoint_on_another_origin_ends_the_stream_before_its_event_completes() {
        for size in [1, 3, 1000] {
            let mut rewriter = rewriter();
            let mut out = Vec::new();
            let input = "event: message\ndata: 1\n\n\
                         event: endpoint\ndata: https://other.example/messages\n\n\
                         event: message\ndata: 2\n\n";
            for piece in input.as_bytes().chunks(size) {
                out.extend_from_slice(&rewriter.push(piece));
            }
            out.extend_from_slice(&rewriter.finish());
            let out = String::from_utf8(out).expect("utf8");
            assert!(rewriter.refused(), "chunks of {size}");
            assert!(out.starts_with("event: message\ndata: 1\n\n"), "{out}");
            assert!(!out.contains("other.example"), "{out}");
            assert!(!out.contains("data: 2"), "nothing after the refusal: {out}");
            assert!(
                out.ends_with(std::str::from_utf8(REFUSED).expect("utf8")),
                "{out}"
            );
        }
        // Protocol-relative and other schemes are other origins too.
        for foreign in ["//other.example/m", "https://127.0.0.1:9000/m"] {
            let mut rewriter = rewriter();
            rewriter.push(format!("event: endpoint\ndata: {foreign}\n\n").as_bytes());
            assert!(rewriter.refused(), "{foreign}");
        }
    }

    #[test]
    fn split_data_lines_and_a_byte_order_mark_cannot_smuggle_an_endpoint() {
        // Two data lines that a client would join into http://evil.example/x.
        let mut joined = rewriter();
        joined.push(b"event: endpoint\ndata: http:/\ndata: /evil.example/x\n\n");
        assert!(joined.refused());
        // A byte order mark before the first event, in one or in two chunks.
        for pieces in [
            vec![&b"\xEF\xBB\xBFevent: endpoint\ndata: https://evil.example/m\n\n"[..]],
            vec![
                &b"\xEF\xBB"[..],
                &b"\xBFevent: endpoint\ndata: https://evil.example/m\n\n"[..],
            ],
        ] {
            let mut bom = rewriter();
            let mut out = Vec::new();
            for piece in pieces {
                out.extend_from_slice(&bom.push(piece));
            }
            assert!(bom.refused());
            assert!(!String::from_utf8_lossy(&out).contains("evil.example"));
        }
        // A mark alone is dropped, and the stream goes on.
        let mut plain = rewriter();
        assert_eq!(
            &plain.push(b"\xEF\xBB\xBFevent: message\ndata: 1\n\n")[..],
            b"event: message\ndata: 1\n\n"
        );
    }

    #[test]
    fn complete_events_go_out_at_once_and_partial_ones_wait() {
        let mut rewriter = rewriter();
        assert_eq!(
            &rewriter.push(b"event: message\ndata: 1\n\nevent: mes")[..],
            b"event: message\ndata: 1\n\n"
        );
        assert_eq!(&rewriter.push(b"sage\ndata: 2\n")[..], b"");
        assert_eq!(&rewriter.push(b"\n")[..], b"event: message\ndata: 2\n\n");
    }

    #[test]
    fn huge_events_stream_through_without_being_held() {
        let mut rewriter = rewriter();
        let big = "x".repeat(MAX_HELD_EVENT + 10);
        let first = rewriter.push(format!("event: message\ndata: {big}").as_bytes());
        assert!(
            first.len() > MAX_HELD_EVENT,
            "sent without waiting for the end"
        );
        assert_eq!(&rewriter.push(b"more\r")[..], b"more\r");
        assert_eq!(&rewriter.push(b"\n\r\n")[..], b"\n\r\n");
        // Back to normal for the next event.
        assert_eq!(
            &rewriter.push(b"event: endpoint\ndata: http://127.0.0.1:9000/m\n\n")[..],
            b"event: endpoint\ndata: http://127.0.0.1:4567/m\n\n"
        );
        assert!(!rewriter.refused());
    }

    #[test]
    fn a_huge_endpoint_event_is_refused_whichever_line_names_it() {
        let big = "x".repeat(MAX_HELD_EVENT + 10);
        // Named first: refused once it is too big to be a URL.
        let mut first = rewriter();
        first.push(format!("event: endpoint\ndata: https://other.example/{big}").as_bytes());
        assert!(first.refused());
        // Named after its data already went out, even split across chunks:
        // the event is never completed.
        let mut rewriter = rewriter();
        let mut out = Vec::new();
        out.extend_from_slice(
            &rewriter.push(format!("data: https://other.example/{big}\neve").as_bytes()),
        );
        assert!(!out.ends_with(b"eve"), "a short partial line is held");
        out.extend_from_slice(&rewriter.push(b"nt: endpoint\n\n"));
        out.extend_from_slice(&rewriter.finish());
        assert!(rewriter.refused());
        let out = String::from_utf8(out).expect("utf8");
        assert!(
            !out.contains("event: endpoint"),
            "the name never reaches the agent"
        );
        assert!(!out.contains("\n\n"), "the event never completes");
    }
}
