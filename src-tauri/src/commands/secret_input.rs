//! What the add-credential form and the replace dialog send for a
//! credential's secret: a bearer token, headers of the server's own, or a
//! user name and password for HTTP Basic (docs/architecture.md, "A token's
//! path", step 1). UI → Rust only: no `Serialize`, and a `Debug` that names
//! the kind and header names, never a value. Values are wiped when dropped.
//!
//! The engine validates (`keybearer_vault::SecretHeader`, `AccessToken`); its
//! messages never quote a value, and [`SecretInput::redact`] masks any value
//! that would still turn up in an error, so neither the answer to the page
//! nor the debug IPC trace (`state::trace_ipc_answer`) can carry one.

use std::fmt;

use keybearer_vault::{AccessToken, CredentialSecret, SecretHeader};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::error::IpcResult;

/// A secret value typed by the user: wiped when dropped, never printed.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    fn expose(&self) -> &str {
        &self.0
    }

    /// A copy for the engine's own secret types (which wipe it in turn).
    pub(crate) fn copy(&self) -> String {
        self.0.to_string()
    }

    /// Nothing but white space.
    pub(crate) fn is_blank(&self) -> bool {
        self.expose().trim().is_empty()
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self(Zeroizing::new(text)))
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One header row of the form: its name, and its value (secret).
#[derive(Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct HeaderInput {
    pub name: String,
    #[ts(type = "string")]
    pub value: SecretText,
}

/// The kind of secret a credential sends, as typed in the form.
#[derive(Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum SecretInput {
    /// `Authorization: Bearer <token>`.
    Bearer {
        #[ts(type = "string")]
        token: SecretText,
    },
    /// These headers, as they are (`X-API-Key: …`).
    Headers { headers: Vec<HeaderInput> },
    /// `Authorization: Basic base64(user:secret)`, e.g. Atlassian's e-mail
    /// address and API token.
    Basic {
        user: String,
        #[ts(type = "string")]
        secret: SecretText,
    },
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer { .. } => f.write_str("SecretInput::Bearer(<redacted>)"),
            Self::Headers { headers } => {
                let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
                write!(f, "SecretInput::Headers({}: <redacted>)", names.join(", "))
            }
            Self::Basic { .. } => f.write_str("SecretInput::Basic(<redacted>)"),
        }
    }
}

impl SecretInput {
    /// The engine's validated secret (the engine's rules and messages).
    pub fn to_secret(&self) -> keybearer_vault::Result<CredentialSecret> {
        match self {
            Self::Bearer { token } => Ok(AccessToken::new(token.copy())?.into()),
            Self::Headers { headers } => CredentialSecret::headers(
                headers
                    .iter()
                    .map(|header| SecretHeader::new(&header.name, header.value.copy()))
                    .collect::<keybearer_vault::Result<Vec<_>>>()?,
            ),
            Self::Basic { user, secret } => {
                CredentialSecret::headers(vec![SecretHeader::basic(user, secret.expose())?])
            }
        }
    }

    /// The values that must never leave Rust.
    fn values(&self) -> Vec<&str> {
        match self {
            Self::Bearer { token } => vec![token.expose()],
            Self::Headers { headers } => headers.iter().map(|h| h.value.expose()).collect(),
            Self::Basic { secret, .. } => vec![secret.expose()],
        }
    }

    /// `answer` with any of this input's values masked in its error message.
    /// Very short values are left alone (they would mask ordinary words; the
    /// engine never quotes a value anyway), as the UI's `redact` does.
    pub fn redact<T>(&self, answer: IpcResult<T>) -> IpcResult<T> {
        answer.map_err(|mut error| {
            for value in self.values() {
                let value = value.trim();
                if value.len() >= 4 && error.message.contains(value) {
                    error.message = error.message.replace(value, "••••");
                }
            }
            error
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::IpcError;

    fn input(json: serde_json::Value) -> SecretInput {
        serde_json::from_value(json).expect("a secret input")
    }

    #[test]
    fn the_three_kinds_read_from_the_page_and_debug_prints_no_value() {
        let bearer = input(serde_json::json!({"kind": "bearer", "token": "tok-secret-1"}));
        let headers = input(serde_json::json!({"kind": "headers", "headers": [
            {"name": "X-API-Key", "value": "key-secret-2"},
            {"name": "X-Org", "value": "org-secret-3"}
        ]}));
        let basic = input(
            serde_json::json!({"kind": "basic", "user": "ada@example.com", "secret": "api-secret-4"}),
        );
        for (input, kind, names) in [
            (
                &bearer,
                keybearer_vault::CredentialType::StaticBearer,
                vec!["Authorization"],
            ),
            (
                &headers,
                keybearer_vault::CredentialType::Headers,
                vec!["X-API-Key", "X-Org"],
            ),
            (
                &basic,
                keybearer_vault::CredentialType::Headers,
                vec!["Authorization"],
            ),
        ] {
            let secret = input.to_secret().expect("valid");
            assert_eq!(secret.kind(), kind);
            assert_eq!(secret.header_names(), names);
            let printed = format!("{input:?} {secret:?}");
            for value in [
                "tok-secret-1",
                "key-secret-2",
                "org-secret-3",
                "api-secret-4",
                "ada@",
            ] {
                assert!(!printed.contains(value), "{printed}");
            }
        }
        assert_eq!(
            format!("{headers:?}"),
            "SecretInput::Headers(X-API-Key, X-Org: <redacted>)"
        );
        assert!(
            serde_json::from_value::<SecretInput>(serde_json::json!({"kind": "oauth"})).is_err()
        );
    }

    #[test]
    fn refusals_name_the_field_and_never_carry_a_value() {
        let cases = [
            (
                serde_json::json!({"kind": "headers", "headers": []}),
                "headers",
            ),
            (
                serde_json::json!({"kind": "headers", "headers": [{"name": "bad name", "value": "v-secret-1"}]}),
                "header_name",
            ),
            (
                serde_json::json!({"kind": "headers", "headers": [{"name": "Host", "value": "v-secret-2"}]}),
                "header_name",
            ),
            (
                serde_json::json!({"kind": "headers", "headers": [{"name": "X-API-Key", "value": " v-secret-3"}]}),
                "header_value",
            ),
            (
                serde_json::json!({"kind": "headers", "headers": [
                    {"name": "X-API-Key", "value": "a-secret-4"}, {"name": "x-api-key", "value": "b-secret-5"}
                ]}),
                "headers",
            ),
            (
                serde_json::json!({"kind": "basic", "user": "a:b", "secret": "s-secret-6"}),
                "user",
            ),
            (
                serde_json::json!({"kind": "basic", "user": "ada", "secret": ""}),
                "secret",
            ),
            (
                serde_json::json!({"kind": "bearer", "token": "t secret 7"}),
                "access_token",
            ),
        ];
        for (json, field) in cases {
            let text = json.to_string();
            let input = input(json);
            let answer: IpcResult<()> =
                input.redact(input.to_secret().map(|_| ()).map_err(IpcError::from));
            let error = answer.expect_err("refused");
            assert_eq!(
                error.field.as_deref(),
                Some(field),
                "{text}: {}",
                error.message
            );
            let shown = serde_json::to_string(&error).expect("json");
            for value in input.values() {
                if !value.is_empty() {
                    assert!(!shown.contains(value.trim()), "{shown}");
                }
            }
        }
    }

    #[test]
    fn a_value_in_an_error_message_is_masked() {
        let input = input(
            serde_json::json!({"kind": "headers", "headers": [{"name": "X-Key", "value": "pasted-secret"}]}),
        );
        let answer: IpcResult<()> = Err(IpcError {
            code: keybearer_vault::ErrorCode::InvalidInput,
            message: "\"pasted-secret\" is wrong".into(),
            field: None,
        });
        let error = input.redact(answer).expect_err("an error");
        assert_eq!(error.message, "\"••••\" is wrong");
    }

    /// The cases of ui/src/lib/validation.test.ts ("header credentials"):
    /// the window's rules must answer as the engine does, word for word.
    #[test]
    fn the_windows_header_rules_match_the_engines() {
        let header = |name: &str, value: &str| SecretHeader::new(name, value.to_string());
        for name in [
            "X-API-Key",
            "x-org",
            "Authorization",
            " X-Trimmed ",
            "X_Weird.Name~1",
        ] {
            assert!(header(name, "v").is_ok(), "{name}");
        }
        let refused = |name: &str| header(name, "v").map(|_| ()).expect_err(name).to_string();
        assert_eq!(
            refused("bad name"),
            "\"bad name\" is not a valid header name: use letters, digits and dashes, like X-API-Key."
        );
        for name in ["", "   ", "Ä", "X-Key:"] {
            refused(name);
        }
        for name in [
            "Host",
            "content-type",
            "Content-Length",
            "Transfer-Encoding",
            "Mcp-Session-Id",
            "MCP-Protocol-Version",
            "Accept",
            "Last-Event-ID",
            "Proxy-Authorization",
        ] {
            assert_eq!(
                refused(name),
                format!("Keybearer sets the \"{name}\" header itself, so a credential cannot. Check which header your server expects.")
            );
        }
        assert!(header("X-API-Key", "abc 123\tx").is_ok());
        let value = |v: &str| {
            header(" X-API-Key ", v)
                .map(|_| ())
                .expect_err(v)
                .to_string()
        };
        assert_eq!(
            value(""),
            "The value of X-API-Key is empty. Paste it from your server's settings."
        );
        assert_eq!(
            value("line\nbreak"),
            "The value of X-API-Key contains a line break. Paste it as a single line."
        );
        assert_eq!(
            value(&"x".repeat(keybearer_vault::MAX_TOKEN_BYTES + 1)),
            "The value of X-API-Key is longer than 16 KiB; check what you pasted."
        );
        for v in [" padded", "padded ", "tök", "zero\u{200b}width", "\u{feff}"] {
            assert_eq!(
                value(v),
                "The value of X-API-Key has spaces at its ends or characters an HTTP header cannot carry (only plain ASCII). Copy it again."
            );
        }
        let basic = |user: &str, secret: &str| SecretHeader::basic(user, secret).map(|_| ());
        assert!(basic(" ada ", "open sesame").is_ok());
        for user in ["", "  ", "a:b", "ada\u{7}"] {
            assert_eq!(
                basic(user, "s").expect_err(user).to_string(),
                "Type the user name (for Atlassian: your e-mail address); it cannot contain a colon."
            );
        }
        assert_eq!(
            basic("ada", "a\nb").expect_err("line break").to_string(),
            "The password or API token is empty or has a line break. Paste it as one line."
        );
    }
}
