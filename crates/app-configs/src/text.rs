//! Small text helpers shared by the editors: line-end detection, byte
//! offset → line/column, turning a parser's message into plain words, and
//! text from the file made fit to show in an error.
//! Limits: columns count characters, not display width.

use crate::error::Position;

/// Whether every line break in `text` is CRLF (and there is at least one).
pub(crate) fn uses_crlf(text: &str) -> bool {
    let lf = text.matches('\n').count();
    lf > 0 && text.matches("\r\n").count() == lf
}

/// 1-based line and column of a byte offset.
pub(crate) fn position_of(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    Position {
        line,
        column: before[line_start..].chars().count() + 1,
    }
}

/// A parser message as one lowercase clause without a trailing period.
pub(crate) fn plain_problem(message: &str) -> String {
    let joined = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let joined = joined.trim_end_matches('.');
    let mut chars = joined.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "the file is not valid".to_string(),
    }
}

/// Text from the file (an entry's name, a parser's complaint quoting it)
/// as an error may show it: without control characters (escape sequences
/// could rewrite the terminal the message is printed on) or bidirectional
/// overrides and isolates. The rule of `keybearer_base::text::printable`,
/// which this crate cannot name (the base crate names this one).
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Whether `new` is `old` with text added and nothing of it moved, changed
/// or taken out: around one changed region every byte is in place, and
/// what the region held is still there, whole, inside the new text (an
/// entry added to a one-line table opens it up around what it held).
pub(crate) fn only_added(old: &str, new: &str) -> bool {
    let (held, added) = changed(old.as_bytes(), new.as_bytes());
    held.is_empty() || added.windows(held.len()).any(|window| window == held)
}

/// Whether `new` is `old` with one region taken out and nothing else
/// changed (an emptied table may be left as `{}`).
pub(crate) fn only_taken_out(old: &str, new: &str) -> bool {
    let (_, left) = changed(old.as_bytes(), new.as_bytes());
    matches!(String::from_utf8_lossy(left).trim(), "" | "{}")
}

/// The regions of `a` and `b` between their common beginning and end.
fn changed<'a, 'b>(a: &'a [u8], b: &'b [u8]) -> (&'a [u8], &'b [u8]) {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let room = a.len().min(b.len()) - prefix;
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix])
}
