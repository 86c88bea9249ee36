//! The properties Keybearer's fuzz targets check (docs/architecture.md,
//! "Fuzzing"), in one place: each target in `fuzz/fuzz_targets/` is one
//! line calling the function of its name here, and `tests/replay.rs` runs
//! the same functions on every committed corpus file
//! (`fuzz/corpus/<target>/`) and crash file (`fuzz/regressions/<target>/`)
//! on the stable toolchain, so `make test` keeps every find fixed.
//!
//! Each function takes the fuzzer's bytes, reads them as its module says,
//! runs the crate's own code on them (through each crate's hidden
//! `fuzzing` module where the code is private: nothing is copied here) and
//! panics when a property does not hold. Input that cannot be read as the
//! target wants (not UTF-8 where text is wanted) is simply skipped.
//!
//! The parts under test, one module each: the proxy's request head and path
//! rules (`proxy_head`), a legacy SSE stream through the proxy's rewriter
//! and read by the SSE reader (`sse_stream`), the bridge's message peeking
//! (`bridge_message`), OAuth's reading of servers' answers
//! (`oauth_answers`), the settings editors (`settings_edit`: JSONC, TOML,
//! YAML), the pasted-token scanner (`token_scan`), URL normalisation
//! (`server_url`), and the echo redactor (`echo_stream`).

mod bridge_message;
mod echo_stream;
mod input;
mod oauth_answers;
mod proxy_head;
mod server_url;
mod settings_edit;
mod sse_stream;
mod token_scan;

pub use bridge_message::bridge_message;
pub use echo_stream::echo_stream;
pub use oauth_answers::oauth_answers;
pub use proxy_head::proxy_head;
pub use server_url::server_url;
pub use settings_edit::{settings_jsonc, settings_toml, settings_yaml};
pub use sse_stream::sse_stream;
pub use token_scan::token_scan;

/// A target's checks: panics when a property does not hold.
pub type Check = fn(&[u8]);

/// Every target, by the name of its folders and its fuzz target.
pub const TARGETS: &[(&str, Check)] = &[
    ("proxy_head", proxy_head),
    ("sse_stream", sse_stream),
    ("bridge_message", bridge_message),
    ("oauth_answers", oauth_answers),
    ("settings_jsonc", settings_jsonc),
    ("settings_toml", settings_toml),
    ("settings_yaml", settings_yaml),
    ("token_scan", token_scan),
    ("server_url", server_url),
    ("echo_stream", echo_stream),
];
