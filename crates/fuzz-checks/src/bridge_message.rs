//! `bridge_message`: one message as the bridge reads it, from the app (a
//! line of stdin) or from the server (a JSON body, an event's data).
//!
//! Input: the message's bytes.
//!
//! Properties: only JSON is peeked; every JSON object (each name written
//! once) is peeked, whatever the shape of its fields (the bridge relays it
//! and answers its request, never "not JSON"), with the ids, method and
//! `Mcp-Name` it holds; a request's error answer is one
//! JSON line naming its id; what the app is handed is one line holding the
//! same JSON value; `Mcp-Name` is always a valid header value that gives
//! the name back.

use http::HeaderValue;
use keybearer_bridge::fuzzing::{error_answer, header_safe_name, is_json, one_line, peek};
use serde_json::Value;

pub fn bridge_message(data: &[u8]) {
    let json = is_json(data);
    let peeked = peek(data);
    if peeked.is_some() {
        assert!(json, "peeked what is not JSON");
    }
    if json {
        let line = one_line(data);
        assert_eq!(line.last(), Some(&b'\n'));
        let body = &line[..line.len() - 1];
        assert!(
            !body.contains(&b'\n') && !body.contains(&b'\r'),
            "more than one line"
        );
        assert!(is_json(body), "one line is no longer JSON");
        if let Ok(value) = serde_json::from_slice::<Value>(data) {
            let again: Value = serde_json::from_slice(body).expect("the line parses");
            assert_eq!(again, value, "one line changed the message");
        }
    }
    // Every JSON object is peeked. A name written twice (which one would
    // the server read?) may be refused, so the object is judged as written
    // once, each name with its last value.
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let written_once = serde_json::to_vec(&object).expect("an object serialises");
    let (peeked, object) = match peeked {
        Some(peeked) if written_once == data => (peeked, object),
        _ => {
            let peeked =
                peek(&written_once).expect("a JSON object is peeked, not refused as \"not JSON\"");
            // Read back from the same bytes (a number may not print back
            // to the very value it was read as).
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&written_once) else {
                panic!("an object written once reads back");
            };
            (peeked, object)
        }
    };
    let method = object.get("method").and_then(Value::as_str);
    assert_eq!(peeked.method.as_deref(), method);
    // `"id": null` is no id (JSON-RPC's answer to a request whose id could
    // not be read); a request with it cannot be answered.
    match (method, object.get("id").filter(|id| !id.is_null())) {
        (Some(_), Some(id)) => assert_eq!(peeked.request_ids, vec![id.clone()]),
        (None, Some(id)) => assert_eq!(peeked.response_id.as_ref(), Some(id)),
        (_, None) => assert!(peeked.request_ids.is_empty() && peeked.response_id.is_none()),
    }
    for id in &peeked.request_ids {
        let answer = error_answer(id, "Keybearer could not deliver the request.", "fuzz");
        assert_eq!(answer.iter().filter(|b| **b == b'\n').count(), 1);
        let value: Value = serde_json::from_slice(&answer).expect("an error answer is JSON");
        assert_eq!(&value["id"], id);
    }
    if let Some(name) = &peeked.name {
        let header = header_safe_name(name);
        HeaderValue::from_str(&header).expect("Mcp-Name is a valid header value");
        let shown = match header
            .strip_prefix("=?base64?")
            .and_then(|rest| rest.strip_suffix("?="))
        {
            Some(encoded) if header != *name => {
                let bytes = data_encoding::BASE64
                    .decode(encoded.as_bytes())
                    .expect("Mcp-Name's base64");
                String::from_utf8(bytes).expect("Mcp-Name's UTF-8")
            }
            _ => header.clone(),
        };
        assert_eq!(&shown, name, "Mcp-Name does not give the name back");
    }
}
