//! Text from elsewhere (a settings file an agent may have written, a
//! program's path, vault names) made fit to show on a terminal or in the
//! window: what a session's approval question names, and what a changed
//! app entry's warning names (docs/architecture.md, "User presence" and
//! "App connections").
//!
//! Limits: only control characters and bidirectional controls are taken
//! out; look-alike characters (a Cyrillic `а` for a Latin `a`) stay.

/// `text` without control characters (escape sequences could rewrite what
/// the terminal shows, a carriage return hide it) and without
/// bidirectional overrides and isolates (they could reorder it).
pub fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn what_the_terminal_shows_cannot_be_rewritten() {
        assert_eq!(
            printable("my\u{1b}[2J agent\u{202E}txt.exe\r"),
            "my[2J agenttxt.exe"
        );
    }
}
