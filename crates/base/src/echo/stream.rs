//! An answer's bytes, chunk by chunk as they arrive, with every needle
//! covered, however the chunks cut it.
//!
//! Flow: each chunk is searched (with the bytes held from the one before);
//! whole needles are covered; the chunk's last bytes that could be the start
//! of a needle the next chunk completes are held back, and only those: at
//! most the longest needle less one byte, and nothing at all when the chunk
//! ends with no needle's beginning. A whole needle found among those bytes
//! is held too, not covered yet, when a longer one may begin there or
//! before it (a secret that begins with another): the next chunk decides,
//! so that the answer comes out as it would in one piece, never with the
//! longer one's last bytes uncovered (an SSE event's closing blank line never
//! waits, since no needle holds a line break). At the end of the answer the
//! held bytes go out, a whole needle among them covered.
//!
//! A chunk without a needle or a held byte goes on as the same buffer (no
//! copy); a cover costs one copy of the chunk. Nothing is buffered beyond
//! the held bytes, so memory stays bounded whatever the answer's size.
//! Limits: a part of a secret (a server repeating half a token) is not
//! recognised; the answer's own bytes are the server's and are not wiped.

use std::sync::Arc;

use bytes::Bytes;

use super::{covered, Needles};

/// The streaming search of one answer.
pub struct Redactor {
    needles: Arc<Needles>,
    /// The end of the last chunk, held: a possible needle's beginning.
    held: Vec<u8>,
    /// Needles covered so far.
    covered: usize,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The held bytes may be the beginning of a secret.
        f.debug_struct("Redactor")
            .field("held", &self.held.len())
            .field("covered", &self.covered)
            .finish_non_exhaustive()
    }
}

impl Redactor {
    pub fn new(needles: Arc<Needles>) -> Self {
        Self {
            needles,
            held: Vec::new(),
            covered: 0,
        }
    }

    /// What this redactor looks for.
    pub fn needles(&self) -> &Arc<Needles> {
        &self.needles
    }

    /// How many needles were covered so far.
    pub fn covered(&self) -> usize {
        self.covered
    }

    /// How many bytes are held back, waiting for the next chunk.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Takes the next chunk; returns what may go on now (possibly nothing).
    pub fn push(&mut self, chunk: Bytes) -> Bytes {
        if self.needles.is_empty() {
            return chunk;
        }
        if self.held.is_empty() {
            let found = self.needles.find_all(&chunk);
            let (found, send) = self.hold_tail(&chunk, &found);
            if found.is_empty() {
                return chunk.slice(..send);
            }
            return Bytes::from(covered(&chunk, found, send));
        }
        let mut joined = std::mem::take(&mut self.held);
        joined.extend_from_slice(&chunk);
        let found = self.needles.find_all(&joined);
        let (found, send) = self.hold_tail(&joined, &found);
        let out = if found.is_empty() {
            joined[..send].to_vec()
        } else {
            covered(&joined, found, send)
        };
        Bytes::from(out)
    }

    /// The answer ended: the held bytes, with any whole needle among them
    /// covered (one held while a longer one might still have begun there).
    pub fn finish(&mut self) -> Bytes {
        let held = std::mem::take(&mut self.held);
        let found = self.needles.find_all(&held);
        self.covered += found.len();
        if found.is_empty() {
            return Bytes::from(held);
        }
        Bytes::from(covered(&held, &found, held.len()))
    }

    /// Keeps the end of `hay` from where a needle the next chunk may
    /// complete could begin (`Needles::settle`) in `held`, counts the
    /// matches that are final, and answers those and where what may go on
    /// now ends.
    fn hold_tail<'f>(
        &mut self,
        hay: &[u8],
        found: &'f [(usize, usize)],
    ) -> (&'f [(usize, usize)], usize) {
        let (final_matches, send) = self.needles.settle(hay, found);
        self.covered += final_matches;
        self.held.clear();
        self.held.extend_from_slice(&hay[send..]);
        (&found[..final_matches], send)
    }
}
