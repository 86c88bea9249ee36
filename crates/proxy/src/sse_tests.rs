//! Unit tests of the SSE endpoint rewriter (`sse.rs`).
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
    let input = "event: endpoint\r\ndata: http://127.0.0.1:9000/messages/?session_id=ab\r\n\r\n\
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
    // A mark alone is passed on as it came (the client skips it), and the
    // stream goes on.
    let mut plain = rewriter();
    assert_eq!(
        &plain.push(b"\xEF\xBB\xBFevent: message\ndata: 1\n\n")[..],
        b"\xEF\xBB\xBFevent: message\ndata: 1\n\n"
    );
    // Two marks: the rewriter reads `\u{FEFF}event: endpoint`, no endpoint;
    // so must the client, which skips only the first (had the rewriter
    // dropped it, the client would skip the second and read an endpoint on
    // another server that nothing checked).
    let mut twice = rewriter();
    let input = b"\xEF\xBB\xBF\xEF\xBB\xBFevent: endpoint\ndata: https://evil.example/m\n\n";
    assert_eq!(&twice.push(input)[..], &input[..]);
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

/// A `\r\n` that ends a chunk is a whole line end: a `\n` opening the next
/// chunk is a blank line of its own, not the other half of a `\r\n` (the
/// property test found a blank line lost before a refusal this way).
#[test]
fn a_crlf_at_the_end_of_a_chunk_is_not_waiting_for_its_lf() {
    let mut rewriter = rewriter();
    let mut out = Vec::new();
    for piece in [
        "\r\n",
        "\nevent: endpoint\ndata: http://elsewhere.example/m\n\n",
    ] {
        out.extend_from_slice(&rewriter.push(piece.as_bytes()));
    }
    assert!(rewriter.refused());
    let out = String::from_utf8(out).expect("text");
    assert!(out.starts_with("\r\n\n: Keybearer refused"), "{out:?}");
}
