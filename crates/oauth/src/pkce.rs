//! PKCE (RFC 7636) with S256, and the random `state`: both 32 random bytes
//! in base64url (43 characters).

use sha2::{Digest, Sha256};

use super::error::OAuthError;
use super::OAuthSecret;

/// A code verifier and its S256 challenge, for one authorization request.
pub struct Pkce {
    verifier: OAuthSecret,
    challenge: String,
}

impl Pkce {
    pub fn generate() -> Result<Self, OAuthError> {
        let verifier = random_token()?;
        let challenge = s256_challenge(verifier.expose_secret());
        Ok(Self {
            verifier,
            challenge,
        })
    }

    /// The verifier, sent only to the token endpoint.
    pub fn verifier(&self) -> &OAuthSecret {
        &self.verifier
    }

    /// `code_challenge` for the authorization request (method `S256`).
    pub fn challenge(&self) -> &str {
        &self.challenge
    }
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &self.verifier)
            .field("challenge", &self.challenge)
            .finish()
    }
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` without padding (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

/// 256 random bits as 43 base64url characters: a PKCE verifier, a `state`.
pub(crate) fn random_token() -> Result<OAuthSecret, OAuthError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(bytes.as_mut_slice())
        .map_err(|error| OAuthError::Randomness(error.to_string()))?;
    Ok(OAuthSecret::new(
        data_encoding::BASE64URL_NOPAD.encode(bytes.as_slice()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn s256_matches_the_rfc_7636_example() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_fresh_and_within_rfc_limits() {
        let one = Pkce::generate().expect("random");
        let two = Pkce::generate().expect("random");
        let verifier = one.verifier().expose_secret();
        assert_eq!(verifier.len(), 43);
        assert!(verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(verifier, two.verifier().expose_secret());
        assert_eq!(one.challenge(), s256_challenge(verifier));
        assert!(!format!("{one:?}").contains(verifier));
    }
}
