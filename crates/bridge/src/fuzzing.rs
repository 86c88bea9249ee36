//! The bridge's message peeking (`message`), reached without a process, for
//! the fuzz target `bridge_message` and its replay test
//! (`crates/fuzz-checks`; docs/architecture.md, "Fuzzing"). Not an API:
//! nothing else may use it.

use serde_json::Value;

use super::message::{self, Peek};

/// What the bridge reads of one message from the app or the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Peeked {
    pub request_ids: Vec<Value>,
    pub response_id: Option<Value>,
    pub method: Option<String>,
    pub envelope_version: Option<String>,
    pub name: Option<String>,
    pub cancels: Option<Value>,
    pub result_version: Option<String>,
    pub batch: bool,
}

/// `None` when the bridge answers "not JSON".
pub fn peek(bytes: &[u8]) -> Option<Peeked> {
    Peek::parse(bytes).map(|peek| Peeked {
        request_ids: peek.request_ids,
        response_id: peek.response_id,
        method: peek.method,
        envelope_version: peek.envelope_version,
        name: peek.name,
        cancels: peek.cancels,
        result_version: peek.result_version,
        batch: peek.batch,
    })
}

/// The message as the app reads it: one line.
pub fn one_line(bytes: &[u8]) -> Vec<u8> {
    message::one_line(bytes)
}

/// Whether the bridge may write `bytes` to the app.
pub fn is_json(bytes: &[u8]) -> bool {
    message::is_json(bytes)
}

/// `Mcp-Name`'s value for a name.
pub fn header_safe_name(name: &str) -> String {
    message::header_safe_name(name)
}

/// The error answer the bridge writes for a request it could not deliver.
pub fn error_answer(id: &Value, text: &str, code: &str) -> Vec<u8> {
    message::error_answer(id, text, code)
}
