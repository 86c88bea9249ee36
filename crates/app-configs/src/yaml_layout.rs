//! Where things are in goose's `config.yaml`, as lines: the top-level
//! `extensions:` key, how its value is written, the key line of each entry
//! under it, and where the block ends. `yaml.rs` turns this into text edits.
//!
//! Flow: walk yaml-rust2's event stream (which knows keys from values and
//! gives each token's line and column) and record positions; then classify
//! the lines (blank, comment, content) so an entry's span can run from its
//! key line to its last content line. Limits, refused as "unusual": an
//! indented root mapping, `extensions` written in flow style (`{…}` other
//! than an empty `{}`), with a tag/anchor/block scalar on its key line,
//! complex (`? key`) keys, entries at differing indents, tab indentation,
//! a line ending in a carriage return alone.

use yaml_rust2::parser::{Event, Parser};

/// One line of the text, by byte offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub start: usize,
    /// End of the content, before `\r\n`/`\n`.
    pub end: usize,
    /// Start of the next line (or the text's length).
    pub next: usize,
}

pub(crate) fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let (end, next) = match text[start..].find('\n') {
            Some(i) => (start + i, start + i + 1),
            None => (text.len(), text.len()),
        };
        let end = if end > start && text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        out.push(Line { start, end, next });
        start = next;
    }
    out
}

/// A line that holds YAML (not blank, not only a comment).
pub(crate) fn is_content(text: &str, line: &Line) -> bool {
    let t = text[line.start..line.end].trim_start();
    !t.is_empty() && !t.starts_with('#')
}

pub(crate) fn indent_of(text: &str, line: &Line) -> usize {
    text[line.start..line.end].len() - text[line.start..line.end].trim_start_matches(' ').len()
}

/// How the `extensions` value is written on its key line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueForm {
    /// Nothing after the colon; entries (if any) follow as a block.
    Block,
    /// `~`, `null`: no entries.
    Null,
    /// `{}`: no entries.
    EmptyFlow,
}

/// The `extensions:` key line, split for rewriting.
#[derive(Debug, Clone)]
pub(crate) struct KeyLine {
    pub line: usize,
    /// Byte offset just after the colon.
    pub after_colon: usize,
    /// The comment at the end of the line, if any (from `#`).
    pub comment: Option<String>,
    pub form: ValueForm,
}

#[derive(Debug, Clone)]
pub(crate) struct EntryLine {
    pub name: String,
    /// 0-based line index of the entry's key.
    pub line: usize,
    pub indent: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub lines: Vec<Line>,
    pub key: Option<KeyLine>,
    pub entries: Vec<EntryLine>,
    /// First line after the block (the next top-level key), or `lines.len()`.
    pub block_end: usize,
}

enum Frame {
    Map { expecting_key: bool },
    Seq,
}

/// What the event walk records, in 0-based lines and columns.
#[derive(Default)]
struct Found {
    root_keys: Vec<(String, usize, usize)>,
    ext_entries: Vec<(String, usize, usize)>,
    ext_is_mapping: bool,
    unusual: Option<&'static str>,
}

fn walk(text: &str) -> Result<Found, &'static str> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut found = Found::default();
    // Whether the top-level key being read is `extensions`.
    let mut in_extensions = false;
    loop {
        let (event, mark) = parser.next_token().map_err(|_| "the file does not parse")?;
        let (line, col) = (mark.line().saturating_sub(1), mark.col());
        let is_key = matches!(
            stack.last(),
            Some(Frame::Map {
                expecting_key: true
            })
        );
        let depth = stack.len();
        match &event {
            Event::StreamEnd => break,
            Event::Scalar(value, ..) if is_key => {
                if depth == 1 {
                    found.root_keys.push((value.clone(), line, col));
                    in_extensions = value == "extensions";
                } else if depth == 2 && in_extensions && found.ext_is_mapping {
                    found.ext_entries.push((value.clone(), line, col));
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) if is_key => {
                found
                    .unusual
                    .get_or_insert("it uses a complex (\"? key\") mapping key");
            }
            Event::MappingStart(..) if depth == 1 && in_extensions => found.ext_is_mapping = true,
            _ => {}
        }
        // Advance the key/value state of the enclosing mapping.
        match event {
            Event::MappingStart(..) => stack.push(Frame::Map {
                expecting_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                toggle(&mut stack);
            }
            Event::Scalar(..) | Event::Alias(..) => toggle(&mut stack),
            _ => {}
        }
    }
    Ok(found)
}

fn toggle(stack: &mut [Frame]) {
    if let Some(Frame::Map { expecting_key }) = stack.last_mut() {
        *expecting_key = !*expecting_key;
    }
}

/// Finds the layout; `Err` names what is unusual about the file.
pub(crate) fn layout(text: &str) -> Result<Layout, String> {
    // The parser's line numbers are the ones of `lines` only where every
    // line ends in `\n` or `\r\n`: YAML also breaks a line at a lone `\r`,
    // which would put every position after it on another line here (an
    // edit in the wrong place, an index past the end: found by the fuzz
    // target `settings_yaml`).
    let bytes = text.as_bytes();
    if bytes
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
    {
        return Err("it has a line that ends in a carriage return alone".into());
    }
    let lines = lines(text);
    let found = walk(text).map_err(str::to_string)?;
    if let Some(why) = found.unusual {
        return Err(why.to_string());
    }
    if found.root_keys.iter().any(|(_, _, col)| *col != 0) {
        return Err("its top-level settings are indented".into());
    }
    let Some(index) = found.root_keys.iter().position(|(k, ..)| k == "extensions") else {
        return Ok(Layout {
            block_end: lines.len(),
            lines,
            key: None,
            entries: Vec::new(),
        });
    };
    let key_line = found.root_keys[index].1;
    let block_end = found
        .root_keys
        .get(index + 1)
        .map(|(_, line, _)| *line)
        .unwrap_or(lines.len());
    if block_end > lines.len() {
        return Err("its lines are not where the YAML parser reads them".into());
    }
    let key = key_line_of(text, &lines, key_line)?;
    let expect_block = found.ext_is_mapping && key.form == ValueForm::Block;
    if found.ext_is_mapping && key.form != ValueForm::Block && key.form != ValueForm::EmptyFlow {
        return Err("\"extensions\" is written in flow style ({ … })".into());
    }
    if !found.ext_is_mapping && key.form == ValueForm::Block {
        // A block value that is not a mapping (a list, a scalar on the next line).
        if (key_line + 1..block_end).any(|i| is_content(text, &lines[i])) {
            return Err("\"extensions\" does not hold named entries".into());
        }
    }
    let entries: Vec<EntryLine> = if expect_block {
        found
            .ext_entries
            .into_iter()
            .map(|(name, line, indent)| EntryLine { name, line, indent })
            .collect()
    } else {
        Vec::new()
    };
    if let Some(first) = entries.first() {
        if entries.iter().any(|e| e.indent != first.indent) || first.indent == 0 {
            return Err("the entries under \"extensions\" are not evenly indented".into());
        }
        if entries
            .iter()
            .any(|e| e.line <= key_line || e.line >= block_end)
        {
            return Err("an entry starts on the same line as another key".into());
        }
    }
    if (key_line..block_end).any(|i| text[lines[i].start..lines[i].end].starts_with('\t')) {
        return Err("it is indented with tabs".into());
    }
    Ok(Layout {
        lines,
        key: Some(key),
        entries,
        block_end,
    })
}

fn key_line_of(text: &str, lines: &[Line], index: usize) -> Result<KeyLine, String> {
    let line = lines.get(index).ok_or("the key line is missing")?;
    let content = &text[line.start..line.end];
    let key_len = ["extensions", "\"extensions\"", "'extensions'"]
        .iter()
        .find(|k| content.starts_with(**k))
        .map(|k| k.len())
        .ok_or("the \"extensions\" key is written in an unusual way")?;
    let after_key = &content[key_len..];
    let colon = after_key
        .trim_start_matches(' ')
        .starts_with(':')
        .then(|| key_len + after_key.len() - after_key.trim_start_matches(' ').len())
        .ok_or("the \"extensions\" key is written in an unusual way")?;
    let rest = &content[colon + 1..];
    let trimmed = rest.trim_start();
    let (value, comment) = match trimmed.find('#') {
        Some(0) => ("", Some(trimmed.to_string())),
        Some(i) if trimmed[..i].ends_with(' ') => {
            (trimmed[..i].trim_end(), Some(trimmed[i..].to_string()))
        }
        _ => (trimmed.trim_end(), None),
    };
    let form = match value {
        "" => ValueForm::Block,
        "~" | "null" | "Null" | "NULL" => ValueForm::Null,
        "{}" => ValueForm::EmptyFlow,
        v if v.starts_with('{') => {
            return Err("\"extensions\" is written in flow style ({ … })".into())
        }
        _ => return Err("the \"extensions\" line has a tag, anchor or other value on it".into()),
    };
    Ok(KeyLine {
        line: index,
        after_colon: line.start + colon + 1,
        comment,
        form,
    })
}

impl Layout {
    /// The last content line in `from..to`, if any.
    pub fn last_content(&self, text: &str, from: usize, to: usize) -> Option<usize> {
        (from..to).rev().find(|&i| is_content(text, &self.lines[i]))
    }

    /// Byte span of entry `i`: its key line to the end of its last content line.
    pub fn entry_span(&self, text: &str, i: usize) -> (usize, usize) {
        let entry = &self.entries[i];
        let next = self
            .entries
            .get(i + 1)
            .map(|e| e.line)
            .unwrap_or(self.block_end);
        let last = self
            .last_content(text, entry.line, next)
            .unwrap_or(entry.line);
        (self.lines[entry.line].start, self.lines[last].next)
    }

    /// The indent used inside entries (relative to the entry key), default 2.
    pub fn inner_indent(&self, text: &str) -> usize {
        let Some(first) = self.entries.first() else {
            return 2;
        };
        (first.line + 1..self.block_end)
            .find(|&i| is_content(text, &self.lines[i]))
            .map(|i| indent_of(text, &self.lines[i]))
            .filter(|&n| n > first.indent)
            .map(|n| n - first.indent)
            .unwrap_or(2)
    }
}
