//! Echoed secrets (docs/architecture.md, "Echoed secrets"): what Keybearer
//! put into a request, found again in what the server answers, so a server
//! that repeats the credential (an error page quoting the request, a debug
//! tool listing its headers, a reflected request) never hands it to the
//! agent.
//!
//! Flow: when a credential is opened, [`Needles::from_headers`] derives from
//! the headers it sends the byte strings to look for (`forms.rs`) and builds
//! a searcher for each, once per opened credential. The proxy and the bridge pass
//! every byte of an answer through a [`Redactor`] (`stream.rs`: any chunking,
//! at most the longest needle less one byte held back) and a response head
//! through [`Needles::redact`]; each occurrence is covered by [`cover`], a
//! marker of the same length, and counted, so the sender can record
//! `credential.echoed` (never the value).
//!
//! Same length on purpose: a cover never changes an answer's length, so its
//! `Content-Length` stays true, nothing is buffered or re-framed, and SSE
//! events and JSON strings keep their shape (a needle holds no line break,
//! the marker no quote or backslash).
//!
//! Search: memchr's `memmem` (SIMD) per needle, leftmost match first, a tie
//! going to the longest; a credential gives one to a few needles. The
//! searchers are built when the credential is opened, not per answer:
//! building one costs about 200 ns, searching a small answer about 10.
//! Limits: see `forms.rs` for which encodings are recognised; values shorter
//! than [`MIN_SECRET`] bytes are not looked for. The searchers' copies of
//! the needles are not wiped when dropped (like hyper's copy of the header
//! they came from, which lives as long). This stops a server that repeats
//! what it was sent, not one that sets out to leak the credential (it
//! received it, and can transform it any way it likes).

mod forms;
mod stream;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use std::fmt;

use memchr::memmem::Finder;
use zeroize::Zeroizing;

pub use stream::Redactor;

/// The needles themselves, for the fuzz target `echo_stream` and its replay
/// test (`crates/fuzz-checks`; docs/architecture.md, "Fuzzing"), which check
/// that none gets through. Not an API: nothing else may use it.
#[doc(hidden)]
pub mod fuzzing {
    /// The byte strings `needles` looks for.
    pub fn values(needles: &super::Needles) -> Vec<&[u8]> {
        needles.values().collect()
    }
}

/// Shorter values are not looked for: they would match ordinary text.
pub const MIN_SECRET: usize = 8;

/// What an echoed secret becomes (cut or padded to its length).
pub const MARKER: &[u8] = b"[redacted by Keybearer]";
/// The marker for a secret shorter than [`MARKER`].
const SHORT_MARKER: &[u8] = b"[redacted]";
/// Fills the rest of a cover.
const PAD: u8 = b'*';

/// Appends the cover of a secret `len` bytes long: the marker, padded with
/// `*` to that length; `*`s alone when even the short marker is too long.
pub fn cover(out: &mut Vec<u8>, len: usize) {
    let marker = if len >= MARKER.len() {
        MARKER
    } else if len >= SHORT_MARKER.len() {
        SHORT_MARKER
    } else {
        b""
    };
    out.extend_from_slice(marker);
    out.resize(out.len() + (len - marker.len()), PAD);
}

/// The byte strings a request's credential put on the wire, in the forms a
/// server may repeat them, each with its searcher. Never printed.
#[derive(Default)]
pub struct Needles {
    finders: Vec<Finder<'static>>,
    /// The longest value's length (0 when there are none).
    longest: usize,
    /// Each value's first byte, once each: where a partial match can start.
    firsts: Vec<u8>,
}

impl fmt::Debug for Needles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Needles({} values, <redacted>)", self.finders.len())
    }
}

impl Needles {
    /// The needles of the headers a request carries (name, value), as the
    /// credential sends them: see `forms.rs`.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        Self::from_values(forms::needles(headers))
    }

    fn from_values(mut values: Vec<Zeroizing<Vec<u8>>>) -> Self {
        values.retain(|value| value.len() >= MIN_SECRET);
        values.sort_unstable_by(|a, b| a.as_slice().cmp(b.as_slice()));
        values.dedup_by(|a, b| a.as_slice() == b.as_slice());
        let longest = values.iter().map(|value| value.len()).max().unwrap_or(0);
        let mut firsts: Vec<u8> = values.iter().map(|value| value[0]).collect();
        firsts.sort_unstable();
        firsts.dedup();
        let finders = values
            .iter()
            .map(|value| Finder::new(value.as_slice()).into_owned())
            .collect();
        Self {
            finders,
            longest,
            firsts,
        }
    }

    /// These needles and `other`'s: an answer to a request sent again after
    /// a refusal must hand back neither the refused value nor the new one.
    pub fn joined(&self, other: &Needles) -> Needles {
        Self::from_values(
            self.values()
                .chain(other.values())
                .map(|value| Zeroizing::new(value.to_vec()))
                .collect(),
        )
    }

    /// The needles themselves.
    fn values(&self) -> impl Iterator<Item = &[u8]> {
        self.finders.iter().map(Finder::needle)
    }

    /// No value long enough to look for: answers pass untouched.
    pub fn is_empty(&self) -> bool {
        self.finders.is_empty()
    }

    /// The longest needle's length: a streaming redactor holds back at most
    /// one byte less.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// `bytes` with every needle covered, and how many were; `None` when
    /// there was none (for a header value, a reason phrase, a whole message).
    pub fn redact(&self, bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
        if self.is_empty() {
            return None;
        }
        let found = self.find_all(bytes);
        if found.is_empty() {
            return None;
        }
        Some((covered(bytes, &found, bytes.len()), found.len()))
    }

    /// Whether any needle occurs in `bytes`.
    pub fn occurs_in(&self, bytes: &[u8]) -> bool {
        self.finders
            .iter()
            .any(|finder| finder.find(bytes).is_some())
    }

    /// Whether any needle occurs in `bytes`, ignoring ASCII case (a header
    /// name, which HTTP reads in lower case). For short texts: no index.
    pub fn occurs_in_ignoring_case(&self, bytes: &[u8]) -> bool {
        self.values().any(|value| {
            value.len() <= bytes.len()
                && bytes
                    .windows(value.len())
                    .any(|window| window.eq_ignore_ascii_case(value))
        })
    }

    /// Where needles occur in `hay`: (start, length), in order, never
    /// overlapping; the leftmost first, of two at one place the longer.
    fn find_all(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        if let [only] = self.finders.as_slice() {
            let len = only.needle().len();
            let mut at = 0;
            while let Some(start) = only.find(&hay[at..]) {
                found.push((at + start, len));
                at += start + len;
            }
            return found;
        }
        let finders = &self.finders;
        // Each needle's next occurrence at or after `at`, found once: a
        // needle that never occurs costs one pass, however many others do.
        let mut next: Vec<Option<usize>> = finders.iter().map(|f| f.find(hay)).collect();
        loop {
            let best = next
                .iter()
                .enumerate()
                .filter_map(|(index, start)| {
                    start.map(|start| (start, std::cmp::Reverse(finders[index].needle().len())))
                })
                .min();
            let Some((start, std::cmp::Reverse(len))) = best else {
                return found;
            };
            found.push((start, len));
            let at = start + len;
            for (finder, start) in finders.iter().zip(next.iter_mut()) {
                if start.is_some_and(|start| start < at) {
                    *start = finder.find(&hay[at..]).map(|offset| at + offset);
                }
            }
        }
    }

    /// Of the needles `found` in `hay`, how many are final, and where what
    /// may go on now ends. A match is final unless a needle could begin at
    /// or before its start and still be completed by the next chunk: then
    /// the whole answer, read in one piece, might cover a longer needle (or
    /// one that starts earlier) there, and a cover given now would let that
    /// needle's last bytes through. What may go on ends where the first such
    /// possible beginning is (none: the end of `hay`), at most the longest
    /// needle less one byte before the end.
    fn settle(&self, hay: &[u8], found: &[(usize, usize)]) -> (usize, usize) {
        let partial = self.partial_starts(hay);
        let mut at = 0;
        for (index, &(start, len)) in found.iter().enumerate() {
            if let Some(&open) = partial.iter().find(|&&p| p >= at && p <= start) {
                return (index, open);
            }
            at = start + len;
        }
        let open = partial.iter().find(|&&p| p >= at).copied();
        (found.len(), open.unwrap_or(hay.len()))
    }

    /// Where, among the last bytes of `hay` (the longest needle less one),
    /// a needle begins that `hay` ends too early to hold whole: in order.
    fn partial_starts(&self, hay: &[u8]) -> Vec<usize> {
        let lowest = hay.len().saturating_sub(self.longest.saturating_sub(1));
        let window = &hay[lowest..];
        let mut starts = Vec::new();
        for &first in &self.firsts {
            for offset in memchr::memchr_iter(first, window) {
                let tail = &window[offset..];
                let partial = self
                    .values()
                    .any(|value| value.len() > tail.len() && value.starts_with(tail));
                if partial {
                    starts.push(lowest + offset);
                }
            }
        }
        starts.sort_unstable();
        starts
    }
}

/// `bytes[..end]` with the `found` spans covered.
fn covered(bytes: &[u8], found: &[(usize, usize)], end: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(end);
    let mut at = 0;
    for &(start, len) in found {
        out.extend_from_slice(&bytes[at..start]);
        cover(&mut out, len);
        at = start + len;
    }
    out.extend_from_slice(&bytes[at..end]);
    out
}
