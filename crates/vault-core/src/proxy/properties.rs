//! Property tests of the proxy's parsers (test builds only): whatever bytes
//! an agent or an upstream sends, the rules hold.

use std::sync::Arc;

use proptest::prelude::*;

use super::origin::OriginMap;
use super::paths::{is_clean, AllowedPaths};
use super::sse::EndpointRewriter;

/// Path-ish strings: the characters that matter for path tricks.
fn path_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("/".to_string()),
            Just(".".to_string()),
            Just("..".to_string()),
            Just("%2e".to_string()),
            Just("%2F".to_string()),
            Just("%5c".to_string()),
            Just("\\".to_string()),
            Just("mcp".to_string()),
            Just("a".to_string()),
            Just("%41".to_string()),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

/// SSE streams: lines from a small alphabet, some of them endpoint events
/// naming the upstream, a relative path or another origin.
fn stream_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("event: endpoint\n".to_string()),
            Just("event: message\n".to_string()),
            Just("data: /messages/?s=1\n".to_string()),
            Just("data: http://127.0.0.1:9000/m\n".to_string()),
            Just("data: https://evil.example/m\n".to_string()),
            Just("data: {\"x\":1}\n".to_string()),
            Just(": comment\n".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
        ],
        0..24,
    )
    .prop_map(|lines| lines.concat())
}

fn rewriter() -> EndpointRewriter {
    let upstream = url::Url::parse("http://127.0.0.1:9000/sse").expect("url");
    EndpointRewriter::new(
        OriginMap::new(&upstream, 4567),
        Arc::new(AllowedPaths::new("/sse")),
    )
}

/// The stream as an SSE client reads it: every line end as `\n`, and runs of
/// blank lines as one (an event with no data is never dispatched).
fn sse_text(bytes: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text
}

fn run(input: &[u8], size: usize) -> (Vec<u8>, bool) {
    let mut rewriter = rewriter();
    let mut out = Vec::new();
    for piece in input.chunks(size.max(1)) {
        out.extend_from_slice(&rewriter.push(piece));
    }
    out.extend_from_slice(&rewriter.finish());
    (out, rewriter.refused())
}

proptest! {
    /// A clean path reads one way only: a URL parser (as the upstream's)
    /// resolves it to itself, so what is checked is what the server serves.
    #[test]
    fn clean_paths_are_what_a_url_parser_reads(path in path_strategy()) {
        if is_clean(&path) {
            let parsed = url::Url::parse(&format!("http://h{path}")).expect("parses");
            prop_assert_eq!(parsed.path(), path.as_str());
            prop_assert!(!path.split('/').any(|segment| segment == ".." || segment == "."));
        }
    }

    /// Only the credential path, exactly, is allowed before anything is learned.
    #[test]
    fn nothing_but_the_credential_path_is_allowed(path in path_strategy()) {
        let allowed = AllowedPaths::new("/mcp");
        prop_assert_eq!(allowed.allows(&path), path == "/mcp");
    }

    /// How the stream is cut into chunks never changes what the agent gets
    /// (up to the spelling of line ends: `\r\n`, `\r` and `\n` are one
    /// line end to an SSE client, and a refusal may cut a `\r\n` in two).
    #[test]
    fn sse_output_does_not_depend_on_chunking(stream in stream_strategy(), size in 1usize..40) {
        let (whole, whole_refused) = run(stream.as_bytes(), stream.len().max(1));
        let (chunked, chunked_refused) = run(stream.as_bytes(), size);
        prop_assert_eq!(chunked_refused, whole_refused);
        prop_assert_eq!(sse_text(&chunked), sse_text(&whole));
    }

    /// No completed endpoint event ever names another origin.
    #[test]
    fn no_foreign_endpoint_is_ever_completed(stream in stream_strategy(), size in 1usize..40) {
        let (out, _) = run(stream.as_bytes(), size);
        let text = sse_text(&out);
        // Only events closed by a blank line are dispatched; the last
        // `event:` field names the event.
        let mut events: Vec<&str> = text.split("\n\n").collect();
        events.pop();
        for event in events {
            let kind = event.lines().rev().find_map(|line| line.strip_prefix("event: "));
            if kind == Some("endpoint") {
                prop_assert!(!event.contains("evil.example"), "{}", event);
            }
        }
    }
}
