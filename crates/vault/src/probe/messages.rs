//! The probe's JSON-RPC messages and how their answers are read: which
//! protocol revision a server speaks, its name, or why it is not MCP.

use serde_json::{json, Value};

use super::{not_mcp, ConnectionOutcome, ConnectionTest, Probe};
use crate::model::Protocol;

/// The revisions with `server/discover` and the per-request `_meta`
/// envelope that this client speaks, newest first.
pub(super) const MODERN_REVISIONS: &[&str] = &["2026-07-28"];
/// What an `initialize` proposes; older servers answer with their own.
pub(super) const HANDSHAKE_REVISION: &str = "2025-11-25";
/// Every probe message has this id; servers may stream other messages first.
const PROBE_ID: u64 = 1;

const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

fn client_info() -> Value {
    json!({ "name": "keybearer", "version": env!("CARGO_PKG_VERSION") })
}

/// A 2026-07-28 `server/discover`, with the `_meta` envelope every request
/// of that revision carries.
pub(super) fn discover_request(revision: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": PROBE_ID,
        "method": "server/discover",
        "params": {
            "_meta": {
                META_PROTOCOL_VERSION: revision,
                META_CLIENT_CAPABILITIES: {},
                META_CLIENT_INFO: client_info(),
            }
        }
    })
}

/// A 2025-era `initialize` handshake.
pub(super) fn initialize_request() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": PROBE_ID,
        "method": "initialize",
        "params": {
            "protocolVersion": HANDSHAKE_REVISION,
            "capabilities": {},
            "clientInfo": client_info(),
        }
    })
}

/// Picks the answer to the probe's request out of the events a server
/// streams; servers may send notifications first.
pub(super) fn probe_answer(event: &str, data: &str) -> Option<String> {
    let value: Value = serde_json::from_str(data).ok()?;
    (event == "message" && value.get("id") == Some(&json!(PROBE_ID))).then(|| data.to_string())
}

/// Reads an answer to `server/discover`. `None`: the server does not speak a
/// revision with discovery (an error, another shape), so the caller falls
/// back to `initialize`.
pub(super) fn discover_result(body: &str, status: u16) -> Option<ConnectionTest> {
    let value: Value = serde_json::from_str(body.trim()).ok()?;
    let result = value.get("result")?;
    let offered: Vec<&str> = result
        .get("supportedVersions")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .filter(|version| is_revision(version))
        .collect();
    // The newest revision both sides know; else the server's newest (it
    // answered discovery, so it is MCP and took the token).
    let revision = MODERN_REVISIONS
        .iter()
        .copied()
        .find(|known| offered.contains(known))
        .or_else(|| offered.iter().copied().max())?;
    let name = result
        .get("_meta")
        .and_then(|meta| meta.get(META_SERVER_INFO))
        .and_then(|info| info.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(ConnectionTest::connected(
        name,
        Some(revision.to_string()),
        status,
    ))
}

/// Reads an answer to `initialize`.
pub(super) fn initialize_result(body: &str, status: u16, protocol: Protocol) -> Probe {
    let value: Value = serde_json::from_str(body.trim()).map_err(|_| not_mcp(status, protocol))?;
    if let Some(error) = value.get("error") {
        let detail = error
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("unknown error");
        return Err(ConnectionTest::new(
            ConnectionOutcome::NotMcp,
            format!("The server refused to start an MCP session: {detail}"),
            Some(status),
        ));
    }
    let result = value
        .get("result")
        .ok_or_else(|| not_mcp(status, protocol))?;
    let name = result
        .pointer("/serverInfo/name")
        .and_then(|name| name.as_str())
        .map(str::to_string);
    let revision = result
        .get("protocolVersion")
        .and_then(Value::as_str)
        .filter(|version| is_revision(version))
        .map(str::to_string);
    Ok(ConnectionTest::connected(name, revision, status))
}

/// A revision label as the spec writes them (`2025-06-18`); anything else a
/// server sends there is not shown.
fn is_revision(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initialize_answers_are_classified() {
        let ok = initialize_result(
            r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","serverInfo":{"name":"srv"}}}"#,
            200,
            Protocol::StreamableHttp,
        )
        .expect("ok");
        assert_eq!(ok.outcome, ConnectionOutcome::Ok);
        assert_eq!(ok.server_name.as_deref(), Some("srv"));
        assert_eq!(ok.protocol_version.as_deref(), Some("2025-06-18"));
        let refused = initialize_result(
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"nope"}}"#,
            200,
            Protocol::StreamableHttp,
        )
        .expect_err("error");
        assert_eq!(refused.outcome, ConnectionOutcome::NotMcp);
        let html =
            initialize_result("<html>hi</html>", 200, Protocol::StreamableHttp).expect_err("html");
        assert_eq!(html.outcome, ConnectionOutcome::NotMcp);
        let odd = initialize_result(
            r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"<script>"}}"#,
            200,
            Protocol::Sse,
        )
        .expect("ok");
        assert_eq!(odd.protocol_version, None);
    }

    #[test]
    fn discover_answers_pick_the_newest_shared_revision() {
        let ok = discover_result(
            r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2026-07-28","2027-01-01"],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"srv"}}}}"#,
            200,
        )
        .expect("ok");
        assert_eq!(ok.protocol_version.as_deref(), Some("2026-07-28"));
        assert_eq!(ok.server_name.as_deref(), Some("srv"));
        let newer = discover_result(
            r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":["2027-01-01"]}}"#,
            200,
        )
        .expect("ok");
        assert_eq!(newer.protocol_version.as_deref(), Some("2027-01-01"));
        for fallback in [
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"supportedVersions":[]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            "<html>hi</html>",
        ] {
            assert_eq!(discover_result(fallback, 200), None, "{fallback}");
        }
    }

    #[test]
    fn discover_request_carries_the_envelope() {
        let request = discover_request("2026-07-28");
        let meta = &request["params"]["_meta"];
        assert_eq!(meta[META_PROTOCOL_VERSION], "2026-07-28");
        assert!(meta[META_CLIENT_CAPABILITIES].is_object());
        assert_eq!(meta[META_CLIENT_INFO]["name"], "keybearer");
    }
}
