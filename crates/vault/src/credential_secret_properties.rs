//! Property tests of header credentials (test builds only): whatever a user
//! pastes as a header name and value, what is accepted can be sent as an
//! HTTP header, stored and read back unchanged, and what is refused is
//! refused without the value in the message.

use proptest::prelude::*;

use crate::credential_secret::{CredentialSecret, SecretHeader};
use crate::model::CredentialType;

/// Names near the rules: tokens, the refused ones in any case, separators.
fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9-]{0,20}",
        "(?i)(host|connection|content-type|mcp-session-id|proxy-authorization|accept)",
        "[ -~]{0,12}",
        ".{0,6}",
    ]
}

/// Values near the rules: plain ASCII, tabs and spaces, line breaks, NUL,
/// non-ASCII, long.
fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,40}",
        "[ \t]{0,2}[!-~ \t]{1,40}[ \t]{0,2}",
        "[!-~]{1,10}[\r\n\0][!-~]{1,10}",
        "[!-~]{1,10}[äß€😀][!-~]{1,10}",
        proptest::collection::vec(any::<u8>(), 1..60)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        "[a-z]{16385,16400}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn accepted_headers_are_sendable_and_round_trip(name in name_strategy(), value in value_strategy()) {
        match SecretHeader::new(&name, value.clone()) {
            Ok(header) => {
                prop_assert!(!value.contains(['\r', '\n', '\0']));
                let secret = CredentialSecret::headers(vec![header]).expect("one header");
                let sent = secret.http_headers().expect("sendable");
                prop_assert_eq!(sent.len(), 1);
                // Names are taken as typed, around them white space dropped.
                let name = name.trim();
                prop_assert!(sent[0].0.as_str().eq_ignore_ascii_case(name));
                prop_assert_eq!(sent[0].1.as_bytes(), value.as_bytes());
                prop_assert!(sent[0].1.is_sensitive());
                let stored = secret.to_sealable();
                let opened = CredentialSecret::from_opened(CredentialType::Headers, &stored)
                    .expect("reads back");
                let pairs = opened.pairs();
                prop_assert_eq!(pairs[0].0, name);
                prop_assert_eq!(pairs[0].1.as_str(), value.as_str());
            }
            Err(error) => {
                // A value long enough not to occur in a message by chance
                // is never quoted.
                let trimmed = value.trim();
                if trimmed.len() >= 6 {
                    prop_assert!(!error.to_string().contains(trimmed), "{error}");
                }
            }
        }
    }

    #[test]
    fn basic_credentials_encode_what_was_typed(user in "[!-9;-~]{1,20}", secret in "[!-~ ]{1,40}") {
        let header = SecretHeader::basic(&user, &secret).expect("valid");
        let secret_headers = CredentialSecret::headers(vec![header]).expect("one");
        let pairs = secret_headers.pairs();
        prop_assert_eq!(pairs[0].0, "Authorization");
        let encoded = pairs[0].1.strip_prefix("Basic ").expect("Basic scheme");
        let decoded = data_encoding::BASE64.decode(encoded.as_bytes()).expect("base64");
        prop_assert_eq!(decoded, format!("{user}:{secret}").into_bytes());
    }
}
