//! How big, how deep and how many values a settings file may be before
//! Keybearer parses it.
//! Anything that can write an app's settings file (an agent in a sandbox
//! included) must not be able to exhaust the memory or the stack of the CLI
//! or the window by what it writes there (docs/architecture.md, "App
//! connections").
//!
//! Flow: `read_config` reads at most [`max_bytes`] (+1, to tell "too big");
//! every editor then calls [`check_size`] and its format's check before its
//! parser builds a tree. The checks walk the parser library's own tokens or
//! events (jsonc-parser's scanner, toml_parser's event parser, yaml-rust2's
//! event parser in `yaml_limits.rs`), which keep their state on the heap:
//! a file nested 100,000 levels deep is refused after [`MAX_DEPTH`] levels
//! instead of overflowing the stack of the recursive tree builders, and one
//! packed with tiny values after [`MAX_VALUES`]. A check that meets a
//! syntax error stops there: the parser then reports that error, having
//! gone no further than checked.
//!
//! Limits chosen, each far above what a settings file needs and below what
//! hurts. Measured without them (release build, one read): jsonc-parser's
//! tree costs ~180 bytes per token, so 4 MiB of `0,0,0,…` took 730 MB and
//! 1.4 s, and 63 MB of Claude Code project history 470 MB; toml_edit 570 MB
//! for 4 MiB of `0,` (its lexer alone ~25 bytes per token); yaml-rust2 140 MB.
//! Hence: at most [`MAX_VALUES`] names and values (a settings file has
//! hundreds); JSON 16 MiB, because Claude Code has kept project history in
//! `~/.claude.json`, reported at 15 MB and more (larger ones are refused
//! with a message that says so); TOML 1 MiB and YAML 4 MiB (Codex's and
//! goose's files are a few kilobytes); 64 levels of nesting (settings use
//! fewer than 10; below toml_edit's own guard of 80, so a TOML file gets
//! this module's words, not the library's). At the limits, reading and
//! editing peaked at 200 MB (JSON, TOML) and 36 MB (YAML), under a second.
//! YAML aliases, which copy without growing the file, have their own budget
//! (`yaml_limits.rs`).

use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, ParseError, Span};

use crate::apps::Format;
use crate::error::{Ctx, Error, Result};

/// The deepest nesting of objects, arrays or tables accepted.
pub(crate) const MAX_DEPTH: usize = 64;
/// The most names and values (keys, scalars, lists, objects) accepted.
pub(crate) const MAX_VALUES: u64 = 500_000;

const MIB: u64 = 1024 * 1024;

/// The largest settings file read, in bytes.
pub(crate) fn max_bytes(format: Format) -> u64 {
    match format {
        Format::Json => 16 * MIB,
        Format::Toml => MIB,
        Format::Yaml => 4 * MIB,
    }
}

/// "12.5 MB": sizes as people read them.
pub(crate) fn megabytes(bytes: u64) -> String {
    let tenths = (bytes * 10).div_ceil(MIB);
    if tenths % 10 == 0 {
        format!("{} MB", tenths / 10)
    } else {
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

pub(crate) fn size_error(ctx: &Ctx<'_>, size: u64) -> Error {
    let limit = max_bytes(ctx.app.format());
    Error::too_large(
        ctx,
        format!(
            "it is {}, and Keybearer reads settings files of up to {}",
            megabytes(size.max(limit + 1)),
            megabytes(limit)
        ),
    )
}

pub(crate) fn depth_error(ctx: &Ctx<'_>) -> Error {
    Error::too_large(ctx, too_deep())
}

pub(crate) fn too_deep() -> String {
    format!("parts of it are nested more than {MAX_DEPTH} levels deep")
}

pub(crate) fn too_many_values() -> String {
    format!(
        "it holds more than {} names and values (a settings file holds a few hundred)",
        thousands(MAX_VALUES)
    )
}

/// "500,000".
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub(crate) fn check_size(ctx: &Ctx<'_>, text: &str) -> Result<()> {
    let size = text.len() as u64;
    if size > max_bytes(ctx.app.format()) {
        return Err(size_error(ctx, size));
    }
    Ok(())
}

/// JSON/JSONC: counts `{`/`[` levels and names and values on
/// jsonc-parser's scanner.
pub(crate) fn check_json(
    ctx: &Ctx<'_>,
    text: &str,
    options: &jsonc_parser::ScannerOptions,
) -> Result<()> {
    use jsonc_parser::tokens::Token;
    let mut scanner = jsonc_parser::Scanner::new(text, options);
    let mut depth = 0usize;
    let mut values = 0u64;
    while let Ok(Some(token)) = scanner.scan() {
        match token {
            Token::OpenBrace | Token::OpenBracket => {
                depth += 1;
                values += 1;
                if depth > MAX_DEPTH {
                    return Err(depth_error(ctx));
                }
            }
            Token::CloseBrace | Token::CloseBracket => depth = depth.saturating_sub(1),
            Token::Comma | Token::Colon | Token::CommentLine(_) | Token::CommentBlock(_) => {}
            _ => values += 1,
        }
        if values > MAX_VALUES {
            return Err(Error::too_large(ctx, too_many_values()));
        }
    }
    Ok(())
}

/// TOML: every key of the table header, every dotted key on the way, and
/// every array and inline table around a value counts as one level (`[a.b]`
/// then `c.d = [{ e = 1 }]` counts 7 at `e`: a little more than the tree
/// holds, never less).
/// Names and values: every key, scalar, array and inline table.
pub(crate) fn check_toml(ctx: &Ctx<'_>, text: &str) -> Result<()> {
    let source = toml_parser::Source::new(text);
    let tokens = source.lex().into_vec();
    let mut shape = TomlShape::default();
    let mut errors: Option<ParseError> = None;
    toml_parser::parser::parse_document(&tokens, &mut shape, &mut errors);
    if shape.too_deep {
        return Err(depth_error(ctx));
    }
    if shape.values > MAX_VALUES {
        return Err(Error::too_large(ctx, too_many_values()));
    }
    Ok(())
}

#[derive(Default)]
struct TomlShape {
    in_header: bool,
    header: usize,
    /// Keys of the entry being read at each open level (0: top level).
    keys: Vec<usize>,
    /// Sum of `keys`.
    key_depth: usize,
    too_deep: bool,
    values: u64,
}

impl TomlShape {
    fn depth(&self) -> usize {
        self.header + self.key_depth + self.keys.len().saturating_sub(1)
    }

    /// One more name or value; `false` (do not go deeper) once over a limit.
    fn note(&mut self) -> bool {
        self.values += 1;
        if self.depth() > MAX_DEPTH {
            self.too_deep = true;
        }
        !self.too_deep && self.values <= MAX_VALUES
    }

    fn reset_table(&mut self, header: usize) {
        self.in_header = true;
        self.header = header;
        self.keys = vec![0];
        self.key_depth = 0;
    }

    /// A new entry starts at the innermost level: its keys count afresh.
    fn next_entry(&mut self) {
        if let Some(last) = self.keys.last_mut() {
            self.key_depth -= *last;
            *last = 0;
        }
    }

    fn open(&mut self) -> bool {
        self.keys.push(0);
        self.note()
    }

    fn close(&mut self) {
        if self.keys.len() > 1 {
            if let Some(last) = self.keys.pop() {
                self.key_depth -= last;
            }
        }
    }
}

impl EventReceiver for TomlShape {
    fn std_table_open(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.reset_table(0);
    }
    fn std_table_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.in_header = false;
    }
    fn array_table_open(&mut self, _: Span, _: &mut dyn ErrorSink) {
        // An array of tables is one level more than its keys.
        self.reset_table(1);
    }
    fn array_table_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.in_header = false;
    }
    fn inline_table_open(&mut self, _: Span, _: &mut dyn ErrorSink) -> bool {
        self.open()
    }
    fn inline_table_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.close();
    }
    fn array_open(&mut self, _: Span, _: &mut dyn ErrorSink) -> bool {
        self.open()
    }
    fn array_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.close();
    }
    fn simple_key(
        &mut self,
        _: Span,
        _: Option<toml_parser::decoder::Encoding>,
        _: &mut dyn ErrorSink,
    ) {
        if self.in_header {
            self.header += 1;
        } else {
            if self.keys.is_empty() {
                self.keys.push(0);
            }
            if let Some(last) = self.keys.last_mut() {
                *last += 1;
                self.key_depth += 1;
            }
        }
        self.note();
    }
    fn scalar(
        &mut self,
        _: Span,
        _: Option<toml_parser::decoder::Encoding>,
        _: &mut dyn ErrorSink,
    ) {
        self.note();
    }
    fn value_sep(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.next_entry();
    }
    fn newline(&mut self, _: Span, _: &mut dyn ErrorSink) {
        // Top-level entries end at the line's end; inside an inline table
        // (TOML 1.1 lets it span lines) only a comma ends one.
        if self.keys.len() <= 1 {
            self.next_entry();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::App;

    fn ctx() -> Ctx<'static> {
        Ctx {
            app: App::Codex,
            file: "config.toml",
        }
    }

    fn toml_ok(text: &str) -> bool {
        check_toml(&ctx(), text).is_ok()
    }

    #[test]
    fn toml_depth_adds_headers_dotted_keys_and_nesting() {
        let keys = |n: usize| vec!["k"; n].join(".");
        // 64 levels exactly: header 30, dotted 24, nested 10.
        let at = |header: usize, dotted: usize, nested: usize| {
            format!(
                "[{}]\n{} = {}1{}\nother = 2\n",
                keys(header),
                keys(dotted),
                "[".repeat(nested),
                "]".repeat(nested)
            )
        };
        assert!(toml_ok(&at(30, 24, 10)));
        assert!(!toml_ok(&at(30, 24, 11)));
        assert!(!toml_ok(&at(30, 25, 10)));
        assert!(!toml_ok(&at(31, 24, 10)));
        // Siblings do not add up, on one line or on many.
        let wide = format!("x = {{ {} }}\n", vec!["a.b.c = 1"; 200].join(", "));
        assert!(toml_ok(&wide));
        let long: String = (0..500).map(|i| format!("a{i}.b.c = 1\n")).collect();
        assert!(toml_ok(&long));
        // Dotted keys inside nested inline tables do add up.
        let inline = format!("x = {}1{}\n", "{ a.b.c = ".repeat(20), " }".repeat(20));
        assert!(!toml_ok(&inline));
    }

    #[test]
    fn megabytes_read_as_people_read_them() {
        assert_eq!(megabytes(4 * MIB), "4 MB");
        assert_eq!(megabytes(4 * MIB + 1), "4.1 MB");
        assert_eq!(megabytes(MIB / 2), "0.5 MB");
        assert_eq!(thousands(500_000), "500,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn values_are_counted_in_json_and_toml() {
        let many = |n: usize| vec!["0"; n].join(",");
        let cursor = Ctx {
            app: App::Cursor,
            file: "mcp.json",
        };
        let options = jsonc_parser::ScannerOptions::default();
        // `{`, a name, `[`: three more.
        let json = |n| format!("{{\"x\": [{}]}}", many(n));
        let limit = MAX_VALUES as usize;
        assert!(check_json(&cursor, &json(limit - 3), &options).is_ok());
        assert!(check_json(&cursor, &json(limit - 2), &options).is_err());
        // A name, `[`: two more.
        let toml = |n| format!("x = [{}]\n", many(n));
        assert!(toml_ok(&toml(limit - 2)));
        assert!(!toml_ok(&toml(limit - 1)));
    }
}
