#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;

use super::{cover, Needles, Redactor, MARKER};

fn needles(headers: &[(&str, &str)]) -> Needles {
    Needles::from_headers(headers.iter().map(|(n, v)| (*n, v.as_bytes())))
}

fn redacted(needles: &Needles, text: &str) -> String {
    match needles.redact(text.as_bytes()) {
        Some((bytes, _)) => String::from_utf8(bytes).unwrap(),
        None => text.to_string(),
    }
}

#[test]
fn covers_keep_the_length_and_say_what_happened() {
    for len in [8, 9, 10, 22, 23, 24, 200] {
        let mut out = Vec::new();
        cover(&mut out, len);
        assert_eq!(out.len(), len);
        assert!(!out.contains(&b'"') && !out.contains(&b'\\') && !out.contains(&b'\n'));
    }
    let mut out = Vec::new();
    cover(&mut out, 30);
    assert_eq!(out, b"[redacted by Keybearer]*******");
    let mut out = Vec::new();
    cover(&mut out, 12);
    assert_eq!(out, b"[redacted]**");
    assert_eq!(MARKER.len(), 23);
}

#[test]
fn a_bearer_token_is_found_without_its_scheme_and_in_json_and_url_forms() {
    let token = "tok/en+with=slash\"quote";
    let n = needles(&[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(
        redacted(&n, &format!("seen: Bearer {token}.")),
        format!("seen: Bearer {}.", cover_text(token.len()))
    );
    // As JSON writes it (quote escaped; slash escaped or not) and in a URL.
    let json = r#"tok/en+with=slash\"quote"#;
    let json_slash = r#"tok\/en+with=slash\"quote"#;
    let url = "tok%2Fen%2Bwith%3Dslash%22quote";
    for form in [json, json_slash, url] {
        let text = format!("{{\"h\": \"{form}\"}}");
        let out = redacted(&n, &text);
        assert!(!out.contains(form), "{form} found in {out}");
        assert_eq!(out.len(), text.len());
        assert!(out.contains("[redacted by Keybearer]"));
    }
    assert_eq!(redacted(&n, "no secret here"), "no secret here");
}

#[test]
fn basic_credentials_are_found_encoded_decoded_and_the_password_alone() {
    let encoded = data_encoding::BASE64.encode(b"me@example.com:s3cret-api-token");
    let n = needles(&[("authorization", &format!("Basic {encoded}"))]);
    for echoed in [
        encoded.as_str(),
        "me@example.com:s3cret-api-token",
        "s3cret-api-token",
    ] {
        let out = redacted(&n, &format!("<{echoed}>"));
        assert!(!out.contains("s3cret-api-token"), "{out}");
        assert!(!out.contains(&encoded), "{out}");
    }
    // The user name alone is not a secret.
    assert_eq!(redacted(&n, "me@example.com"), "me@example.com");
}

#[test]
fn other_headers_are_found_whole_and_short_values_are_not_looked_for() {
    let n = needles(&[
        ("X-API-Key", "key with spaces 123"),
        ("X-Org", "org-1"),
        ("Authorization", "Token ab"),
    ]);
    assert_eq!(
        redacted(&n, "k=key with spaces 123"),
        format!("k={}", cover_text(19))
    );
    assert_eq!(redacted(&n, "org-1"), "org-1");
    // A credential part too short to look for: the whole value instead.
    assert_eq!(redacted(&n, "Token ab!"), format!("{}!", cover_text(8)));
    assert!(needles(&[("X-Org", "short")]).is_empty());
}

#[test]
fn the_leftmost_and_longest_needle_wins_and_every_occurrence_is_covered() {
    let n = needles(&[("a", "abcdefgh"), ("b", "cdefghijkl"), ("c", "abcdefghij")]);
    assert_eq!(
        redacted(&n, "abcdefghijkl"),
        format!("{}kl", cover_text(10))
    );
    let (out, count) = n.redact(b"xxcdefghijklabcdefghabcdefgh").unwrap();
    assert_eq!(count, 3);
    assert_eq!(
        out,
        format!("xx{}{}{}", cover_text(10), cover_text(8), cover_text(8)).into_bytes()
    );
}

#[test]
fn a_needle_cut_by_chunks_is_held_only_while_it_could_complete() {
    let n = Arc::new(needles(&[("Authorization", "Bearer 0123456789abcdef")]));
    let mut r = Redactor::new(Arc::clone(&n));
    // Ends with a needle's beginning: held back.
    assert_eq!(r.push(Bytes::from_static(b"data: 0123")), "data: ");
    assert_eq!(r.held(), 4);
    // Completed: covered.
    assert_eq!(r.push(Bytes::from_static(b"456789abcdef\n\n")), {
        let mut expected = Vec::new();
        cover(&mut expected, 16);
        expected.extend_from_slice(b"\n\n");
        expected
    });
    // Not completed: released as it was.
    assert_eq!(r.push(Bytes::from_static(b"0123")), "");
    assert_eq!(r.push(Bytes::from_static(b"45X")), "012345X");
    // An event's end is never held.
    assert_eq!(r.push(Bytes::from_static(b"data: x\n\n")), "data: x\n\n");
    assert_eq!(r.push(Bytes::from_static(b"01")), "");
    assert_eq!(r.finish(), "01");
    assert_eq!(r.covered(), 1);
}

#[test]
fn a_clean_chunk_goes_on_as_the_same_buffer() {
    let n = Arc::new(needles(&[("Authorization", "Bearer 0123456789abcdef")]));
    let mut r = Redactor::new(n);
    let chunk = Bytes::from(vec![b'x'; 4096]);
    let out = r.push(chunk.clone());
    assert_eq!(out.as_ptr(), chunk.as_ptr());
    assert_eq!(out.len(), chunk.len());
}

#[test]
fn needles_never_print() {
    let n = needles(&[("Authorization", "Bearer 0123456789abcdef")]);
    let shown = format!("{n:?}");
    let shown = format!("{shown} {:?}", Redactor::new(Arc::new(n)));
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
}

fn cover_text(len: usize) -> String {
    let mut out = Vec::new();
    cover(&mut out, len);
    String::from_utf8(out).unwrap()
}
