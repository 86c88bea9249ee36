//! The tokens part's unit tests (`tokens.rs`).

use super::cache_key;
use crate::credential_secret::CredentialSecret;
use crate::model::{Credential, CredentialType, Protocol, Resolution, Timestamp};
use crate::secret::AccessToken;

/// Every request shares the header made when the token was opened: no
/// request makes (and leaves behind in freed memory) a copy of its own.
#[test]
fn requests_share_one_copy_of_the_header() {
    let resolution = Resolution {
        credential: Credential {
            id: "cred_1".into(),
            vault_id: "vlt_1".into(),
            mcp_server_url: "https://mcp.example.com/mcp".into(),
            protocol: Protocol::StreamableHttp,
            credential_type: CredentialType::StaticBearer,
            header_names: vec!["Authorization".into()],
            needs_sign_in: false,
            wanted_scope: None,
            created_at: Timestamp(0),
            last_used_at: None,
        },
        vault_position: 0,
        shadowed_credential_ids: Vec::new(),
    };
    let token = AccessToken::new("tok-shared-value".into()).expect("token");
    let injection = crate::local_source::injection(resolution, CredentialSecret::from(token));
    let first = injection.headers().expect("headers");
    let second = injection.headers().expect("headers");
    assert_eq!(first[0].0, http::header::AUTHORIZATION);
    assert_eq!(first[0].1.as_bytes(), b"Bearer tok-shared-value");
    assert!(first[0].1.is_sensitive());
    assert_eq!(
        first[0].1.as_bytes().as_ptr(),
        second[0].1.as_bytes().as_ptr()
    );
}

#[test]
fn keys_keep_vault_order_apart() {
    let ab = cache_key(&["a".into(), "b".into()], "u");
    let ba = cache_key(&["b".into(), "a".into()], "u");
    assert_ne!(ab, ba);
    assert_ne!(
        cache_key(&["a".into()], "bu"),
        cache_key(&["ab".into()], "u")
    );
}
