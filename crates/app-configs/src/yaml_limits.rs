//! Loading goose's YAML so that anchors and aliases (`&name` … `*name`) or
//! deep nesting cannot exhaust memory or the stack (docs/architecture.md,
//! "App connections"). yaml-rust2 copies an anchored value into every place
//! an alias names it, so nine aliases of nine aliases of … nine values (the
//! "billion laughs", 300 bytes) would build 387 million values.
//!
//! Flow: one pass over yaml-rust2's event parser (`Parser::next_token`, a
//! state machine whose stack is on the heap) sizes every anchored value
//! (values, text, height; aliases inside it included) and adds up, before
//! any tree is built, what the aliases would copy and how deep each value
//! would end up with the copies in place (an alias of a 40-deep anchor
//! inside a 20-deep list sits 60 deep). Over a limit: refused. Else
//! `YamlLoader` builds the tree, which is then at most as big as counted
//! (its `Parser::load` recurses once per level, and so do `Yaml`'s drop,
//! clone and comparison: hence the depth limit).
//!
//! Limits: nesting `limits::MAX_DEPTH` deep and `limits::MAX_VALUES` names
//! and values (copies included), as for JSON and TOML; all the
//! aliases together may copy at most [`MAX_COPIED_VALUES`] values and
//! [`MAX_COPIED_TEXT`] bytes of text. goose writes no aliases; a person who
//! shares a few settings between extensions with them stays far below. A
//! syntax error ends the count: the loader stops at the same place.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::ScanError;
use yaml_rust2::{Yaml, YamlLoader};

use crate::limits::{MAX_DEPTH, MAX_VALUES};

/// Values (scalars, lists, mappings) all aliases together may copy in.
pub(crate) const MAX_COPIED_VALUES: u64 = 10_000;
/// Text (scalars' bytes) all aliases together may copy in.
pub(crate) const MAX_COPIED_TEXT: u64 = 1024 * 1024;

pub(crate) enum LoadError {
    Syntax(ScanError),
    /// Over a limit; the reason in words for the user.
    Limit(String),
}

/// The documents in `text`, once they are known to fit the limits.
pub(crate) fn load(text: &str) -> Result<Vec<Yaml>, LoadError> {
    let mut parser = Parser::new_from_str(text);
    let mut budget = Budget::default();
    loop {
        let (event, _) = parser.next_token().map_err(|e| {
            // The scanner reads ahead and counts `[`/`{` in a byte: past
            // 255 it gives up before this count reaches the limit.
            if e.info() == "recursion limit exceeded" {
                LoadError::Limit(too_deep())
            } else {
                LoadError::Syntax(e)
            }
        })?;
        if event == Event::StreamEnd {
            break;
        }
        budget.on(event).map_err(LoadError::Limit)?;
    }
    YamlLoader::load_from_str(text).map_err(LoadError::Syntax)
}

/// What a value holds once loaded, the copies of aliases inside it included.
#[derive(Debug, Clone, Copy)]
struct Size {
    values: u64,
    text: u64,
    /// 1 for a scalar; 1 + the highest child for a list or mapping.
    height: usize,
}

/// A list or mapping being read: the totals when it started.
struct Open {
    anchor: usize,
    values: u64,
    text: u64,
    height: usize,
}

#[derive(Default)]
struct Budget {
    open: Vec<Open>,
    /// Anchor id (yaml-rust2 numbers every anchor afresh) → its value's size.
    anchors: HashMap<usize, Size>,
    /// Totals so far, copies included.
    values: u64,
    text: u64,
    /// What aliases have copied so far.
    copied_values: u64,
    copied_text: u64,
}

fn too_deep() -> String {
    format!(
        "parts of it are nested more than {MAX_DEPTH} levels deep (YAML aliases, *name, included)"
    )
}

impl Budget {
    fn on(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Scalar(value, _, anchor, _) => {
                let size = Size {
                    values: 1,
                    text: value.len() as u64,
                    height: 1,
                };
                self.place(anchor, size)
            }
            Event::Alias(id) => {
                // An unknown anchor loads as one bad value.
                let size = self.anchors.get(&id).copied().unwrap_or(Size {
                    values: 1,
                    text: 0,
                    height: 1,
                });
                self.copied_values = self.copied_values.saturating_add(size.values);
                self.copied_text = self.copied_text.saturating_add(size.text);
                if self.copied_values > MAX_COPIED_VALUES || self.copied_text > MAX_COPIED_TEXT {
                    return Err(format!(
                        "its YAML aliases (*name) repeat other parts of it so often that reading it would copy more than {} values or {} of text",
                        crate::limits::thousands(MAX_COPIED_VALUES),
                        crate::limits::megabytes(MAX_COPIED_TEXT)
                    ));
                }
                self.place(0, size)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.open.len() >= MAX_DEPTH {
                    return Err(too_deep());
                }
                self.open.push(Open {
                    anchor,
                    values: self.values,
                    text: self.text,
                    height: 0,
                });
                self.values = self.values.saturating_add(1);
                self.count()
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.open.pop() {
                    let size = Size {
                        values: self.values.saturating_sub(open.values),
                        text: self.text.saturating_sub(open.text),
                        height: open.height + 1,
                    };
                    self.done(open.anchor, size);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A scalar or an alias's copy, placed in the innermost open value.
    fn place(&mut self, anchor: usize, size: Size) -> Result<(), String> {
        if self.open.len() + size.height > MAX_DEPTH {
            return Err(too_deep());
        }
        self.values = self.values.saturating_add(size.values);
        self.text = self.text.saturating_add(size.text);
        self.done(anchor, size);
        self.count()
    }

    fn count(&self) -> Result<(), String> {
        if self.values > MAX_VALUES {
            return Err(crate::limits::too_many_values());
        }
        Ok(())
    }

    fn done(&mut self, anchor: usize, size: Size) {
        // yaml-rust2 numbers anchors from 1; 0 is "no anchor".
        if anchor > 0 {
            self.anchors.insert(anchor, size);
        }
        if let Some(parent) = self.open.last_mut() {
            parent.height = parent.height.max(size.height);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<String> {
        match load(text) {
            Err(LoadError::Limit(reason)) => Some(reason),
            Err(LoadError::Syntax(e)) => panic!("syntax error: {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn aliases_are_counted_with_what_they_hold() {
        // 99 copies of a 101-value list: 9,999 values, just in budget.
        let items = vec!["x"; 100].join(", ");
        let uses = vec!["*a"; 99].join(", ");
        let fits = format!("a: &a [{items}]\nb: [{uses}]\n");
        assert_eq!(refused(&fits), None);
        let over = format!("a: &a [{items}]\nb: [{uses}, *a]\n");
        assert!(refused(&over).is_some_and(|r| r.contains("aliases")));
        // Text counts too: 2 copies of 600 KB.
        let long = "y".repeat(600 * 1024);
        assert!(refused(&format!("a: &a {long}\nb: *a\nc: *a\n")).is_some());
        assert_eq!(refused(&format!("a: &a {long}\nb: *a\n")), None);
    }

    #[test]
    fn depth_counts_the_copies_in_place() {
        let nest = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        // An anchored 40-deep list, copied into a 25-deep one: 65 deep.
        let deep = format!(
            "a: &a {}\nb: {}*a{}\n",
            nest(39),
            "[".repeat(24),
            "]".repeat(24)
        );
        assert!(refused(&deep).is_some_and(|r| r.contains("levels deep")));
        let fits = format!(
            "a: &a {}\nb: {}*a{}\n",
            nest(39),
            "[".repeat(23),
            "]".repeat(23)
        );
        assert_eq!(refused(&fits), None);
    }
}
