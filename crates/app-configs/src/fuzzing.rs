//! A settings file's whole content as data, for the fuzz target
//! `settings_edit` and its replay test (`crates/fuzz-checks`;
//! docs/architecture.md, "Fuzzing"): an edit must change nothing of it but
//! the entry it edits. Parsed by each format's own reader, with its limits.
//! Not an API: nothing else may use it.

use crate::apps::Format;
use crate::error::Result;
use crate::locations::ConfigFile;
use crate::{jsonc, toml, yaml};

/// The file as data (comments, formatting and key order gone).
pub fn document(file: &ConfigFile, text: &str) -> Result<serde_json::Value> {
    let ctx = file.ctx();
    match file.app.format() {
        Format::Json => jsonc::document(&ctx, text),
        Format::Toml => toml::document(&ctx, text),
        Format::Yaml => yaml::document(&ctx, text),
    }
}
