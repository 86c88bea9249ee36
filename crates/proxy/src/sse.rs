//! Legacy SSE: checks every `endpoint` event while the stream keeps flowing.
//! An endpoint that `reach::check` allows (the upstream's own origin, in the
//! folder of the credential's address: the rule the bridge and the
//! connection test share) is learned as a path the token may go to (and
//! rewritten to the listener when absolute; relative ones resolve against
//! the listener by themselves). Any other endpoint (another origin, another
//! folder of the same one) is refused: the event is never completed and the
//! stream ends, so the agent never sends its session secret there.
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
    b": Keybearer refused an endpoint on another server or outside this server's address; this stream ends here.\n";

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
        let mut out = BytesMut::new();
        if !self.bom_checked {
            // Clients skip a UTF-8 byte order mark at the start of the
            // stream; so must the parser that looks for `event: endpoint`.
            // The mark is passed on: the client must skip this one, not
            // read the stream as starting after it (a second mark would
            // then be the one it skips, and `\u{FEFF}event: endpoint`,
            // no endpoint here, one there).
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            if self.held.len() < BOM.len() && BOM.starts_with(&self.held) {
                return Bytes::new();
            }
            if self.held.starts_with(BOM) {
                out.extend_from_slice(&self.held.split_to(BOM.len()));
            }
            self.bom_checked = true;
        }
        if std::mem::take(&mut self.after_cr) && self.held.get(self.line_start) == Some(&b'\n') {
            self.line_start += 1;
        }
        while let Some((end, next)) = next_line(&self.held, self.line_start) {
            // A lone `\r` closing what we hold: a `\n` opening the next
            // chunk is its other half. Not when the `\n` came with it.
            self.after_cr = next == self.held.len() && next == end + 1 && self.held[end] == b'\r';
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
        tracing::warn!("an SSE endpoint on another server, outside the server's address (or too large to be one) was refused; the stream was ended");
        if cut > 0 {
            out.extend_from_slice(&self.held[..cut]);
        }
        out.extend_from_slice(REFUSED);
        self.refused = true;
        self.held.clear();
        out.freeze()
    }

    /// The endpoint event with its URL pointed at the listener when it was
    /// absolute; `None` when the credential may not go where it names.
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
                        Target::Elsewhere | Target::Outside(_) => return None,
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
#[path = "sse_tests.rs"]
mod tests;
