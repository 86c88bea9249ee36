//! What the bridge reads of a JSON-RPC message, without rewriting it: its
//! id(s), its method, and what the 2025-06-18…2026-07-28 Streamable HTTP
//! transport puts into headers (a stdio client cannot set headers, so the
//! bridge derives them from the body, as the official SDKs' HTTP transports
//! do). The message itself is relayed byte for byte, only made one line.
//!
//! A field of another shape than the one looked for is skipped
//! (`lenient`), never a reason to call a JSON message "not JSON"; a name
//! written twice among the fields read is (which one would the server
//! read?).
//!
//! Limits: batches (a JSON array, 2025-03-26 only) are relayed, with no
//! header derived from them; `Mcp-Param-*` headers (a tool's own
//! `x-mcp-header` arguments) are not derived.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::lenient::Lenient;

/// The revision that dropped `initialize`, sessions and the GET stream.
pub(crate) const STATELESS_REVISION: &str = "2026-07-28";

/// The fields the bridge reads; any other shape than the one looked for
/// (a `method` that is no string, `params` that are an array) is skipped,
/// so the message is still relayed and its request still answered.
#[derive(Debug, Default, Deserialize)]
struct Fields {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    method: Option<Value>,
    #[serde(default)]
    params: Lenient<Params>,
    #[serde(default)]
    result: Lenient<ResultFields>,
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default, rename = "_meta")]
    meta: Lenient<Meta>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    uri: Option<Value>,
    #[serde(default, rename = "requestId")]
    request_id: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Meta {
    #[serde(default, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
struct ResultFields {
    #[serde(default, rename = "protocolVersion")]
    protocol_version: Option<Value>,
}

/// A message from the app (or the server), as far as the bridge needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Peek {
    /// Requests' ids (one, or several in a batch): who gets an error if the
    /// request cannot be delivered.
    pub(crate) request_ids: Vec<Value>,
    /// The id of a response (to a server's request, or from the server).
    pub(crate) response_id: Option<Value>,
    pub(crate) method: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]` (2026-07-28).
    pub(crate) envelope_version: Option<String>,
    /// What `Mcp-Name` mirrors: `params.name`, or `params.uri` for `resources/read`.
    pub(crate) name: Option<String>,
    /// `notifications/cancelled`'s `params.requestId`.
    pub(crate) cancels: Option<Value>,
    /// An answer's `result.protocolVersion` (an initialize result).
    pub(crate) result_version: Option<String>,
    pub(crate) batch: bool,
}

impl Peek {
    /// `None` when `bytes` is not JSON at all.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Peek> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first == b'[' {
            let items: Vec<Lenient<Fields>> = serde_json::from_slice(bytes).ok()?;
            let mut peek = Peek {
                batch: true,
                ..Peek::default()
            };
            for item in items.into_iter().filter_map(|item| item.0) {
                if matches!(item.method, Some(Value::String(_))) {
                    if let Some(id) = item.id {
                        peek.request_ids.push(id);
                    }
                }
            }
            return Some(peek);
        }
        if *first != b'{' {
            // Valid JSON that is no message at all (a number, a string).
            serde_json::from_slice::<IgnoredAny>(bytes).ok()?;
            return Some(Peek::default());
        }
        let fields: Fields = serde_json::from_slice(bytes).ok()?;
        let params = fields.params.0.unwrap_or_default();
        let text = |value: Option<Value>| match value {
            Some(Value::String(text)) => Some(text),
            _ => None,
        };
        let method = text(fields.method);
        let name = if method.as_deref() == Some("resources/read") {
            text(params.uri)
        } else {
            text(params.name)
        };
        let (request_ids, response_id) = match (&method, fields.id) {
            (Some(_), Some(id)) => (vec![id], None),
            (None, Some(id)) => (Vec::new(), Some(id)),
            (_, None) => (Vec::new(), None),
        };
        Some(Peek {
            request_ids,
            response_id,
            envelope_version: text(params.meta.0.and_then(|meta| meta.protocol_version)),
            name,
            cancels: params.request_id,
            result_version: text(fields.result.0.and_then(|result| result.protocol_version)),
            method,
            batch: false,
        })
    }

    pub(crate) fn is_request(&self) -> bool {
        !self.request_ids.is_empty()
    }

    pub(crate) fn is_method(&self, method: &str) -> bool {
        self.method.as_deref() == Some(method)
    }
}

/// The message on one line. A valid JSON text can hold a line break only as
/// whitespace between tokens (never inside a string), so dropping them
/// changes nothing else; numbers, key order and escapes stay as they were.
pub(crate) fn one_line(bytes: &[u8]) -> Vec<u8> {
    let mut line: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    line.push(b'\n');
    line
}

/// Whether `bytes` is one JSON value (what may be written to the app).
pub(crate) fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(bytes).is_ok()
}

/// `Mcp-Name`'s value: as is when it is a plain visible-ASCII field value,
/// else `=?base64?…?=` of its UTF-8 (the transport's encoding rule).
pub(crate) fn header_safe_name(name: &str) -> String {
    const PREFIX: &str = "=?base64?";
    const SUFFIX: &str = "?=";
    let plain = !name.is_empty()
        && name == name.trim()
        && !(name.starts_with(PREFIX) && name.ends_with(SUFFIX))
        && name
            .bytes()
            .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b));
    if plain {
        name.to_string()
    } else {
        format!(
            "{PREFIX}{}{SUFFIX}",
            data_encoding::BASE64.encode(name.as_bytes())
        )
    }
}

/// A JSON-RPC error answer to request `id`, one line. `code` is Keybearer's
/// stable error code (the same names as the CLI's and the window's), put in
/// `error.data.keybearer` so a client can tell the cases apart.
pub(crate) fn error_answer(id: &Value, message: &str, code: &str) -> Vec<u8> {
    let answer = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {
            // The implementation-defined server error range of JSON-RPC.
            "code": -32000,
            "message": message,
            "data": { "keybearer": code },
        },
    });
    let mut line = answer.to_string().into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_modern_tool_call_names_its_headers() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
        let peek = Peek::parse(body).unwrap();
        assert_eq!(peek.request_ids, vec![serde_json::json!(7)]);
        assert_eq!(peek.method.as_deref(), Some("tools/call"));
        assert_eq!(peek.envelope_version.as_deref(), Some("2026-07-28"));
        assert_eq!(peek.name.as_deref(), Some("echo"));
    }

    #[test]
    fn resources_read_mirrors_the_uri_and_responses_are_not_requests() {
        let read = br#"{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"file:///x","name":"n"}}"#;
        assert_eq!(
            Peek::parse(read).unwrap().name.as_deref(),
            Some("file:///x")
        );
        let answer = br#"{"jsonrpc":"2.0","id":3,"result":{"protocolVersion":"2025-06-18"}}"#;
        let peek = Peek::parse(answer).unwrap();
        assert!(!peek.is_request());
        assert_eq!(peek.response_id, Some(serde_json::json!(3)));
        assert_eq!(peek.result_version.as_deref(), Some("2025-06-18"));
        let cancel =
            br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}"#;
        assert_eq!(
            Peek::parse(cancel).unwrap().cancels,
            Some(serde_json::json!(9))
        );
    }

    #[test]
    fn batches_and_garbage() {
        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]"#;
        let peek = Peek::parse(batch).unwrap();
        assert!(peek.batch);
        assert_eq!(peek.request_ids, vec![serde_json::json!(1)]);
        assert!(Peek::parse(b"{not json").is_none());
        assert!(Peek::parse(b"").is_none());
    }

    #[test]
    fn fields_of_another_shape_are_skipped_not_refused() {
        let odd = br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":[1,{"a":2}]}"#;
        let peek = Peek::parse(odd).unwrap();
        assert_eq!(peek.request_ids, vec![serde_json::json!(4)]);
        assert_eq!(peek.method.as_deref(), Some("tools/call"));
        let meta = br#"{"id":"x","method":"ping","params":{"_meta":"v","name":7}}"#;
        assert_eq!(Peek::parse(meta).unwrap().request_ids.len(), 1);
        let method = br#"{"id":1,"method":{"name":"x"}}"#;
        let peek = Peek::parse(method).unwrap();
        assert_eq!(
            (peek.method, peek.response_id),
            (None, Some(serde_json::json!(1)))
        );
        let answer = br#"{"id":2,"result":"done"}"#;
        assert_eq!(
            Peek::parse(answer).unwrap().response_id,
            Some(serde_json::json!(2))
        );
        let batch = br#"[1,{"id":3,"method":"ping"},"x"]"#;
        assert_eq!(
            Peek::parse(batch).unwrap().request_ids,
            vec![serde_json::json!(3)]
        );
    }

    #[test]
    fn one_line_keeps_everything_but_line_breaks() {
        let pretty = b"{\n  \"a\": \"x\\ny\",\r\n  \"n\": 1.50e3\n}";
        let line = one_line(pretty);
        assert_eq!(line, b"{  \"a\": \"x\\ny\",  \"n\": 1.50e3}\n".to_vec());
        assert!(is_json(&line));
    }

    #[test]
    fn names_outside_visible_ascii_are_base64() {
        assert_eq!(header_safe_name("echo"), "echo");
        assert_eq!(header_safe_name("café"), "=?base64?Y2Fmw6k=?=");
        assert_eq!(header_safe_name(" padded"), "=?base64?IHBhZGRlZA==?=");
        assert_eq!(header_safe_name("a\r\nb"), "=?base64?YQ0KYg==?=");
    }

    #[test]
    fn error_answers_echo_the_id() {
        let line = error_answer(&serde_json::json!("req-1"), "no credential", "not_found");
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["id"], "req-1");
        assert_eq!(value["error"]["code"], -32000);
        assert_eq!(value["error"]["data"]["keybearer"], "not_found");
        assert_eq!(line.last(), Some(&b'\n'));
    }
}
