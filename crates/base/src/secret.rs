//! Types that hold secrets. They never print, never serialise and wipe their
//! memory when dropped, so a token cannot leak through `{:?}`, a log line or JSON.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Largest access token accepted (bytes). Real bearer tokens are far smaller;
/// the bound keeps a pasted file or a runaway pipe out of the vault.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A bearer token on its way into the vault. Write-only: nothing in the public
/// API hands one back; see `InjectableToken` (the tokens part) for the single way out.
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Validates a token typed or piped in by the user. The error never quotes
    /// the input, because the input is the secret.
    pub fn new(value: String) -> Result<Self> {
        let token = SecretString::from(value);
        validate_token(token.expose_secret())?;
        Ok(Self(token))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

fn validate_token(value: &str) -> Result<()> {
    let invalid = |message: &str| Err(Error::invalid("access_token", message));
    if value.is_empty() {
        return invalid("The token is empty. Paste the token your MCP server gave you.");
    }
    if value.len() > MAX_TOKEN_BYTES {
        return invalid(
            "The token is longer than 16 KiB. That is not a bearer token; check what you pasted.",
        );
    }
    if value.contains(['\n', '\r']) {
        return invalid("The token contains a line break. Paste it as a single line.");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(
            "The token contains spaces or invisible characters. Copy it again without them.",
        );
    }
    if !value.is_ascii() {
        return invalid(
            "The token contains characters that cannot be sent in an HTTP header (only plain ASCII is allowed).",
        );
    }
    Ok(())
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// The 256-bit key that seals every token. Lives in the OS keychain; in memory
/// only while the vault is unlocked.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|error| Error::Randomness(error.to_string()))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A passphrase or recovery key typed by the user.
pub struct UserSecret(SecretString);

impl UserSecret {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for UserSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserSecret(<redacted>)")
    }
}

/// A recovery key to show the user exactly once (at setup or regeneration).
pub struct RecoveryKey(SecretString);

impl RecoveryKey {
    pub fn new(display: String) -> Self {
        Self(SecretString::from(display))
    }

    /// The key in typable groups (`ABCD-EFGH-…`), for the one screen that shows it.
    pub fn reveal_once(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

/// Raw secret bytes (an unwrapped key, a decrypted token) zeroised on drop.
pub type SecretBytes = SecretBox<Vec<u8>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_validation_rejects_bad_input_without_echoing_it() {
        let cases = [
            String::new(),
            "abc\ndef".to_string(),
            "abc def".to_string(),
            "tök".to_string(),
            "a".repeat(MAX_TOKEN_BYTES + 1),
        ];
        for case in cases {
            let error = AccessToken::new(case.clone()).expect_err("must be rejected");
            assert_eq!(error.code(), "invalid_input");
            if !case.is_empty() {
                assert!(!error.to_string().contains(&case));
            }
        }
        assert!(AccessToken::new("a".repeat(MAX_TOKEN_BYTES)).is_ok());
        assert!(AccessToken::new("ghp_abcDEF123-._~+/=".into()).is_ok());
    }

    #[test]
    fn debug_output_is_redacted() {
        let token = AccessToken::new("s3cr3t-value".into()).expect("valid");
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
        let key = MasterKey::generate().expect("random");
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }
}
