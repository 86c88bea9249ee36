//! `sse_stream`: a legacy SSE stream from the upstream, through the
//! proxy's `endpoint` rewriter, read by the SSE reader the bridge and Test
//! connection use (as an agent's client reads it).
//!
//! Input: one byte of chunk sizes' count `n` (0 to 7), `n` bytes of chunk
//! sizes (cycled; each 1 to 64), then the stream. The credential is
//! `https://mcp.example.com/v1/sse` on listener port 4567.
//!
//! Properties: how the stream is cut changes neither whether it is refused
//! nor the events an SSE client reads from what the agent gets (the reader
//! agrees with itself however its input is cut, too); every `endpoint`
//! event the agent can read, resolved as a client resolves it against the
//! listener's address, is on the listener and on a path the listener lets
//! the token go to; a refused stream ends with the refusal comment.

use keybearer_net::sse::{Event, EventReader};
use keybearer_proxy::fuzzing::Listener;
use url::Url;

use crate::input::{byte, chunks};

const CREDENTIAL: &str = "https://mcp.example.com/v1/sse";
const LOCAL: &str = "http://127.0.0.1:4567/v1/sse";
const PORT: u16 = 4567;

pub fn sse_stream(data: &[u8]) {
    let n = usize::from(byte(data, 0) % 8).min(data.len().saturating_sub(1));
    let sizes = data.get(1..1 + n).unwrap_or_default();
    let stream = data.get(1 + n..).unwrap_or_default();
    let credential = Url::parse(CREDENTIAL).expect("the credential URL");

    let whole = Listener::new(&credential, PORT).expect("a listener's rules");
    let (whole_out, whole_refused) = rewrite(&whole, &[stream]);
    let cut = Listener::new(&credential, PORT).expect("a listener's rules");
    let (cut_out, cut_refused) = rewrite(&cut, &chunks(stream, sizes));
    assert_eq!(
        whole_refused, cut_refused,
        "cutting the stream changed a refusal"
    );

    let whole_events = read(&[&whole_out]);
    assert_eq!(
        read(&chunks(&whole_out, sizes)),
        whole_events,
        "the reader read other events from the same bytes cut otherwise"
    );
    let cut_events = read(&[&cut_out]);
    // A refusal may cut a `\r\n` in two, so compare what a client reads.
    assert_eq!(
        cut_events, whole_events,
        "cutting the stream changed the events"
    );

    let local = Url::parse(LOCAL).expect("the listener URL");
    let both = [(&whole, &whole_events), (&cut, &cut_events)];
    for (listener, event) in both
        .iter()
        .flat_map(|(listener, events)| events.iter().map(move |event| (*listener, event)))
    {
        if event.name.as_deref() != Some("endpoint") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(&event.data) else {
            continue;
        };
        let Ok(target) = local.join(text) else {
            continue;
        };
        assert_eq!(
            target.origin(),
            local.origin(),
            "an endpoint the agent reads leaves the listener: {text:?}"
        );
        assert!(
            listener.allows(target.path()),
            "an endpoint the agent reads is a path the token may not go to: {text:?}"
        );
    }
    if whole_refused {
        assert!(whole_out.ends_with(b"this stream ends here.\n"));
    }
}

fn rewrite(listener: &Listener, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut stream = listener.event_stream();
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&stream.push(chunk));
    }
    out.extend_from_slice(&stream.finish());
    (out, stream.refused())
}

/// The events a client reads; an event too large for the reader ends it.
fn read(chunks: &[&[u8]]) -> Vec<Event> {
    let mut reader = EventReader::default();
    let mut events = Vec::new();
    for chunk in chunks {
        match reader.push(chunk) {
            Ok(more) => events.extend(more),
            Err(_) => break,
        }
    }
    events
}
