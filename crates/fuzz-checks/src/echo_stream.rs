//! `echo_stream`: an upstream's answer, cut anywhere, through the echo
//! redactor, for the secrets of the credential the request carried.
//!
//! Input, in parts cut at `0xFF`: (1) one byte per header the credential
//! sends (its kind: `Authorization: Bearer`, a header of its own, `Basic`),
//! then chunk sizes (cycled; each 1 to 64); then one part per header, its
//! secret (printable ASCII, no space, none of the cover's `[`, `]` and
//! `*`: what a token looks like; anything else is skipped); then the
//! answer. In the answer, bytes `0xF0`…`0xF7` stand for a whole needle
//! (a form of a secret: `forms.rs`), `0xF8`…`0xFB` for a needle's first
//! half and `0xFC`…`0xFE` for its second half, so that the fuzzer can place
//! secrets it cannot spell.
//!
//! Properties: however the answer is cut, no needle comes out, the length
//! never changes, and an answer without a needle comes out byte for byte;
//! and how it is cut changes nothing of what comes out.

use std::sync::Arc;

use bytes::Bytes;
use keybearer_base::echo::{fuzzing::values, Needles, Redactor, MARKER};

use crate::input::{chunks, contains, parts};

pub fn echo_stream(data: &[u8]) {
    let parts = parts(data);
    let Some((head, rest)) = parts.split_first() else {
        return;
    };
    let Some((answer, secrets)) = rest.split_last() else {
        return;
    };
    let kinds = head.get(..secrets.len()).unwrap_or(head);
    let sizes = head.get(secrets.len()..).unwrap_or_default();
    if secrets.is_empty() || secrets.len() > 3 || kinds.len() != secrets.len() {
        return;
    }
    let mut headers = Vec::new();
    for (kind, secret) in kinds.iter().zip(secrets) {
        let token_like = secret.len() >= 8
            && secret.len() <= 64
            && secret
                .iter()
                .all(|b| b.is_ascii_graphic() && !b"[]*".contains(b));
        if !token_like {
            return;
        }
        let secret = String::from_utf8_lossy(secret);
        headers.push(match kind % 3 {
            0 => ("Authorization".to_string(), format!("Bearer {secret}")),
            1 => ("X-API-Key".to_string(), secret.into_owned()),
            _ => {
                let pair = format!("user@example.com:{secret}");
                let encoded = data_encoding::BASE64.encode(pair.as_bytes());
                ("Authorization".to_string(), format!("Basic {encoded}"))
            }
        });
    }
    let needles = Arc::new(Needles::from_headers(
        headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
    ));
    let found: Vec<Vec<u8>> = values(&needles).into_iter().map(<[u8]>::to_vec).collect();
    // A needle inside the cover's own words would be "found" in every cover.
    if found.is_empty() || found.iter().any(|n| contains(MARKER, n)) {
        return;
    }
    let answer = spell(answer, &found);

    let whole = redact(&needles, &[&answer]);
    let cut = redact(&needles, &chunks(&answer, sizes));
    for out in [&whole, &cut] {
        assert_eq!(out.len(), answer.len(), "the length changed");
        for needle in &found {
            assert!(!contains(out, needle), "a needle came through");
        }
        if !found.iter().any(|n| contains(&answer, n)) {
            assert_eq!(out, &answer, "an answer without a needle changed");
        }
    }
    assert_eq!(whole, cut, "how the answer was cut changed what came out");
}

/// The answer with the stand-in bytes replaced by needles or their halves.
fn spell(answer: &[u8], needles: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(answer.len() * 2);
    for &b in answer {
        let needle = &needles[usize::from(b) % needles.len()];
        let half = needle.len() / 2;
        match b {
            0xF0..=0xF7 => out.extend_from_slice(needle),
            0xF8..=0xFB => out.extend_from_slice(&needle[..half]),
            0xFC..=0xFE => out.extend_from_slice(&needle[half..]),
            _ => out.push(b),
        }
    }
    out
}

fn redact(needles: &Arc<Needles>, chunks: &[&[u8]]) -> Vec<u8> {
    let mut redactor = Redactor::new(Arc::clone(needles));
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend_from_slice(&redactor.push(Bytes::copy_from_slice(chunk)));
    }
    out.extend_from_slice(&redactor.finish());
    out
}
