//! Property tests of the proxy's parsers (test builds only): whatever bytes
//! an agent or an upstream sends, the rules hold.

use std::sync::Arc;

use proptest::prelude::*;

use super::origin::{OriginMap, Target};
use super::paths::{is_clean, AllowedPaths};
use super::sse::EndpointRewriter;
use keybearer_base::reach;

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
            Just(";".to_string()),
            Just("%25".to_string()),
            Just("%3B".to_string()),
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

/// Addresses an upstream could name: other origins, relative and absolute
/// paths into this folder, a neighbour's and the parent, with path tricks.
fn address_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just(String::new()),
            Just("http://127.0.0.1:9000".to_string()),
            Just("HTTP://127.0.0.1:9000".to_string()),
            Just("http://127.0.0.1:9001".to_string()),
            Just("https://127.0.0.1:9000".to_string()),
            Just("//evil.example".to_string()),
        ],
        proptest::collection::vec(
            prop_oneof![
                Just("/".to_string()),
                Just("tenant-a".to_string()),
                Just("tenant-b".to_string()),
                Just("sse".to_string()),
                Just("..".to_string()),
                Just("%2e".to_string()),
                Just("%2F".to_string()),
                Just("..;".to_string()),
                Just("%252e".to_string()),
                Just("?x=/tenant-a/".to_string()),
            ],
            0..8,
        ),
    )
        .prop_map(|(origin, parts)| format!("{origin}{}", parts.concat()))
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
            // No segment carries `;parameters`, no `%` is itself encoded.
            prop_assert!(!path.contains(';') && !path.to_ascii_lowercase().contains("%25"));
        }
    }

    /// Only the credential path, exactly, is allowed before anything is learned.
    #[test]
    fn nothing_but_the_credential_path_is_allowed(path in path_strategy()) {
        let allowed = AllowedPaths::new("/mcp");
        prop_assert_eq!(allowed.allows(&path), path == "/mcp");
    }

    /// The proxy and the bridge send the credential to the same addresses:
    /// the proxy's classification is `reach::check` (which the bridge and the
    /// connection test call), anything it allows is learned and then let
    /// through, and nothing outside the credential's folder ever is.
    #[test]
    fn the_proxy_and_the_bridge_agree_on_where_the_token_goes(address in address_strategy()) {
        let credential = url::Url::parse("http://127.0.0.1:9000/tenant-a/sse").expect("url");
        let origins = OriginMap::new(&credential, 4567);
        let paths = AllowedPaths::new(credential.path());
        let shared = reach::check(&credential, &address);
        match origins.target(&address) {
            Target::Upstream(path) => {
                let allowed = shared.expect("the proxy allows only what the rule allows");
                prop_assert_eq!(allowed.path(), path.as_str());
                prop_assert!(path.starts_with("/tenant-a/") && is_clean(&path), "{}", path);
                paths.learn(&path);
                prop_assert!(paths.allows(&path));
            }
            Target::Elsewhere => prop_assert_eq!(shared, Err(reach::Refused::OtherServer)),
            Target::Outside(what) => {
                let refused = shared.expect_err("the proxy refuses what the rule refuses");
                prop_assert_eq!(what, refused.to_string());
            }
        }
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
