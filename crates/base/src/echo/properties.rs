//! Property tests of the streaming redactor: an answer cut into chunks at
//! any points never lets a secret through, never changes its length, and
//! one without a secret comes out byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::{Needles, Redactor};

/// Secrets as credentials hold them: no space, and none of the cover's
/// `[`, `]` and `*`, so a cover can never spell one; `"` and `\` for the
/// JSON forms, `/`, `+`, `=`, `%` for the URL forms.
const SECRET: &str = r#"[A-Za-z0-9+/=._~%"\\-]{8,40}"#;

/// How a secret is sent: 0 bearer, 1 a header of its own, 2 Basic.
fn credential() -> impl Strategy<Value = Vec<(u8, String)>> {
    proptest::collection::vec((0u8..3, SECRET), 1..=3)
}

fn headers(credential: &[(u8, String)]) -> Vec<(String, String)> {
    credential
        .iter()
        .map(|(kind, secret)| match kind {
            0 => ("Authorization".to_string(), format!("Bearer {secret}")),
            1 => ("X-API-Key".to_string(), secret.clone()),
            _ => {
                let pair = format!("user@example.com:{secret}");
                let encoded = data_encoding::BASE64.encode(pair.as_bytes());
                ("Authorization".to_string(), format!("Basic {encoded}"))
            }
        })
        .collect()
}

/// What an answer is made of: text, a whole needle, a needle's beginning
/// or its end (indices taken modulo the needles there are).
#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Whole(usize),
    Start(usize, usize),
    End(usize, usize),
}

fn pieces(with_secrets: bool) -> impl Strategy<Value = Vec<Piece>> {
    let text = "[a-z0-9 :{}\"\n]{0,12}".prop_map(Piece::Text);
    let start = (any::<usize>(), any::<usize>()).prop_map(|(n, k)| Piece::Start(n, k));
    let end = (any::<usize>(), any::<usize>()).prop_map(|(n, k)| Piece::End(n, k));
    let piece = if with_secrets {
        prop_oneof![text, any::<usize>().prop_map(Piece::Whole), start, end].boxed()
    } else {
        prop_oneof![text, start, end].boxed()
    };
    proptest::collection::vec(piece, 0..16)
}

fn answer(needles: &Needles, pieces: &[Piece]) -> Vec<u8> {
    let values: Vec<&[u8]> = needles.values().collect();
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
            Piece::Whole(n) => out.extend_from_slice(values[n % values.len()]),
            Piece::Start(n, k) => {
                let value = &values[n % values.len()];
                out.extend_from_slice(&value[..k % value.len()]);
            }
            Piece::End(n, k) => {
                let value = &values[n % values.len()];
                out.extend_from_slice(&value[1 + k % (value.len() - 1)..]);
            }
        }
    }
    out
}

/// The answer cut at `cuts` (positions modulo its length), through a
/// redactor; checks the hold-back bound after every chunk.
fn stream(needles: Arc<Needles>, answer: &[u8], cuts: &[usize]) -> (Vec<u8>, usize) {
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (answer.len() + 1)).collect();
    points.push(answer.len());
    points.sort_unstable();
    let longest = needles.longest();
    let mut redactor = Redactor::new(needles);
    let mut out = Vec::new();
    let mut at = 0;
    for point in points {
        out.extend_from_slice(&redactor.push(Bytes::copy_from_slice(&answer[at..point])));
        assert!(
            redactor.held() < longest,
            "held {} of {longest}",
            redactor.held()
        );
        at = point;
    }
    out.extend_from_slice(&redactor.finish());
    (out, redactor.covered())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

proptest! {
    #[test]
    fn no_secret_gets_through_however_the_answer_is_cut(
        credential in credential(),
        pieces in pieces(true),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let headers = headers(&credential);
        let needles = Arc::new(Needles::from_headers(
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        ));
        let answer = answer(&needles, &pieces);
        let (out, covered) = stream(Arc::clone(&needles), &answer, &cuts);
        prop_assert_eq!(out.len(), answer.len());
        for value in needles.values() {
            prop_assert!(!contains(&out, value), "a needle got through");
        }
        // The secrets themselves, whichever way they were sent.
        for (kind, secret) in &credential {
            prop_assert!(!contains(&out, secret.as_bytes()));
            if *kind == 2 {
                let pair = format!("user@example.com:{secret}");
                let encoded = data_encoding::BASE64.encode(pair.as_bytes());
                prop_assert!(!contains(&out, encoded.as_bytes()));
            }
        }
        prop_assert_eq!(covered > 0, needles.occurs_in(&answer));
    }

    #[test]
    fn an_answer_without_a_secret_comes_out_byte_for_byte(
        credential in credential(),
        pieces in pieces(false),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let headers = headers(&credential);
        let needles = Arc::new(Needles::from_headers(
            headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
        ));
        let answer = answer(&needles, &pieces);
        // A beginning and an end may meet to make a whole one.
        prop_assume!(!needles.occurs_in(&answer));
        let (out, covered) = stream(needles, &answer, &cuts);
        prop_assert_eq!(covered, 0);
        prop_assert_eq!(out, answer);
    }
}
