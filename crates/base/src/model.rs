//! The public data model (docs/architecture.md). None of these types can hold a token.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch; serialised as RFC 3339 for people and scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, type = "string"))]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis())
            .unwrap_or_default();
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// An RFC 3339 time (`2026-01-02T03:04:05.678Z`, as OpenBao writes
    /// them); `None` if it is not one.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()?;
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Self)
    }

    pub fn to_rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()
            .and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum Protocol {
    Sse,
    StreamableHttp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sse => "sse",
            Self::StreamableHttp => "streamable_http",
        }
    }
}

impl FromStr for Protocol {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "sse" => Ok(Self::Sse),
            "streamable_http" | "http" => Ok(Self::StreamableHttp),
            _ => Err(Error::invalid(
                "protocol",
                format!("Unknown protocol \"{value}\". Choose \"streamable_http\" (most servers) or \"sse\" (older servers)."),
            )),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum CredentialType {
    /// A bearer token, sent as `Authorization: Bearer …`.
    StaticBearer,
    /// Headers of its own (`X-API-Key`, `Authorization: Basic …`, …).
    Headers,
    /// An OAuth grant Keybearer refreshes (access token, expiry, refresh
    /// token, client registration).
    McpOauth,
}

impl CredentialType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StaticBearer => "static_bearer",
            Self::Headers => "headers",
            Self::McpOauth => "mcp_oauth",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Environment {
    pub name: String,
    pub colour: String,
    pub created_at: Timestamp,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vault_count: i64,
}

impl Environment {
    /// Production gets the loud treatment in every UI.
    pub fn is_production(&self) -> bool {
        self.name == "production"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Vault {
    pub id: String,
    pub display_name: String,
    pub environment: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Local vaults: the credentials stored here. Team vaults: 0 (their
    /// credentials are on the team server).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credential_count: i64,
    pub last_used_at: Option<Timestamp>,
    /// Where a team vault lives (`None`: on this computer).
    pub team: Option<crate::team_model::VaultTeam>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Credential {
    pub id: String,
    pub vault_id: String,
    pub mcp_server_url: String,
    pub protocol: Protocol,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// The headers it sends (names only; `Authorization` for a bearer token).
    pub header_names: Vec<String>,
    /// An OAuth credential whose refresh failed: the user must sign in again.
    pub needs_sign_in: bool,
    /// An OAuth credential a server asked more access for (403
    /// `insufficient_scope`): the scopes the next sign-in should ask for.
    pub wanted_scope: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// An app connection: an app Keybearer does not launch, reaching the servers
/// of these vaults (one environment, first wins) through the stdio bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AppConnection {
    pub id: String,
    /// The app's stable id (`claude-desktop`, `cursor`, …).
    pub app: String,
    pub environment: String,
    pub vault_ids: Vec<String>,
    /// The app's config file the bridge entries were written to.
    pub config_path: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// An audit record. Holds ids and request metadata only: never a token or a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Event {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub at: Timestamp,
    pub kind: crate::event_kind::EventKind,
    pub environment: Option<String>,
    pub vault_id: Option<String>,
    pub credential_id: Option<String>,
    pub session_id: Option<String>,
    /// The app connection (`con_…`) whose bridge or change this records.
    pub connection_id: Option<String>,
    pub upstream_url: Option<String>,
    pub method: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub status: Option<i64>,
    pub detail: Option<String>,
    /// How many alike happenings this event stands for: a proxied session's
    /// uses of a credential within one audit window (same server, method and
    /// status) are one event; 1 for everything else.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: i64,
}

/// Which credential a session would use for a server, and from which vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Resolution {
    pub credential: Credential,
    /// Position of the winning vault in the session's order (0 = first).
    pub vault_position: usize,
    /// Other linked vaults that also cover this URL but lose to the winner.
    pub shadowed_credential_ids: Vec<String>,
}

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Display names and environment names: trimmed, 1–200 characters, stored verbatim.
pub fn validate_name(field: &'static str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "The name is empty. Type a name."));
    }
    if trimmed.chars().count() > 200 {
        return Err(Error::invalid(
            field,
            "The name is longer than 200 characters. Use a shorter name.",
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "The name contains invisible control characters. Type it again.",
        ));
    }
    Ok(trimmed.to_string())
}

/// Environment names are used as identifiers in commands: keep them simple.
pub fn validate_environment_name(value: &str) -> Result<String> {
    let name = validate_name("environment", value)?.to_ascii_lowercase();
    if name.len() > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Error::invalid(
            "environment",
            "Environment names may use letters, digits, \"-\" and \"_\" (at most 40), like \"qa\" or \"eu-prod\".",
        ));
    }
    Ok(name)
}

pub fn validate_colour(value: &str) -> Result<String> {
    let colour = value.trim().to_ascii_lowercase();
    let valid = colour.len() == 7
        && colour.starts_with('#')
        && colour[1..].chars().all(|c| c.is_ascii_hexdigit());
    if valid {
        Ok(colour)
    } else {
        Err(Error::invalid(
            "colour",
            "Colours are written like #1e88e5.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_kept_verbatim() {
        let sql = "Robert'); DROP TABLE vaults;--";
        assert_eq!(validate_name("display_name", sql).expect("valid"), sql);
        assert_eq!(
            validate_name("display_name", "  GitHub  ").expect("valid"),
            "GitHub"
        );
        assert!(validate_name("display_name", "   ").is_err());
        assert!(validate_name("display_name", &"é".repeat(200)).is_ok());
        assert!(validate_name("display_name", &"é".repeat(201)).is_err());
        assert!(validate_name("display_name", "a\u{7}b").is_err());
    }

    #[test]
    fn environment_names_and_colours() {
        assert_eq!(
            validate_environment_name("EU-Prod").expect("valid"),
            "eu-prod"
        );
        assert!(validate_environment_name("two words").is_err());
        assert_eq!(validate_colour("#1E88E5").expect("valid"), "#1e88e5");
        assert!(validate_colour("blue").is_err());
    }

    #[test]
    fn protocol_parsing() {
        assert_eq!("sse".parse::<Protocol>().expect("valid"), Protocol::Sse);
        assert_eq!(
            "streamable-http".parse::<Protocol>().expect("valid"),
            Protocol::StreamableHttp
        );
        let error = "websocket".parse::<Protocol>().expect_err("unknown");
        assert!(error.to_string().contains("streamable_http"));
    }

    #[test]
    fn ids_have_prefixes_and_sort_by_time() {
        let a = new_id("vlt");
        let b = new_id("vlt");
        assert!(a.starts_with("vlt_"));
        assert!(a < b);
    }
}
