//! Reading the fuzzer's bytes: a few leading bytes choose (an app, an
//! operation, chunk sizes), and `0xFF` (never in UTF-8) separates parts.

/// The byte at `index`, or 0.
pub(crate) fn byte(data: &[u8], index: usize) -> u8 {
    data.get(index).copied().unwrap_or(0)
}

/// `data` cut at every `0xFF`.
pub(crate) fn parts(data: &[u8]) -> Vec<&[u8]> {
    data.split(|b| *b == 0xFF).collect()
}

/// `bytes` cut into chunks whose sizes cycle through `sizes` (each 1 to
/// 64); one chunk when `sizes` is empty.
pub(crate) fn chunks<'a>(bytes: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![bytes];
    }
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let size = (usize::from(sizes[i % sizes.len()]) % 64 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        out.push(chunk);
        rest = tail;
        i += 1;
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|window| window == needle)
}
