//! The per-session secret an agent shows the proxy instead of a real token.
//! 256 random bits, checked in constant time, never forwarded, never printed,
//! zeroised when the session's last listener lets go of it.

use std::fmt;

use http::header::{HeaderMap, AUTHORIZATION};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use keybearer_base::error::Result;

const SECRET_BYTES: usize = 32;
/// Makes a leaked session secret recognisable in a config file or a log scan.
const PREFIX: &str = "avs_";

pub struct SessionSecret(Zeroizing<String>);

impl SessionSecret {
    pub(crate) fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        getrandom::getrandom(bytes.as_mut())
            .map_err(|error| keybearer_base::Error::Randomness(error.to_string()))?;
        let mut text = Zeroizing::new(String::with_capacity(PREFIX.len() + 43));
        text.push_str(PREFIX);
        data_encoding::BASE64URL_NOPAD.encode_append(bytes.as_ref(), &mut text);
        Ok(Self(text))
    }

    /// The value to put in the agent's MCP config as
    /// `Authorization: Bearer <secret>`. It opens this session's listeners
    /// only, and only while the session runs.
    pub fn expose_for_agent_config(&self) -> &str {
        &self.0
    }

    /// True when `headers` carry exactly one `Authorization: Bearer <secret>`
    /// with this secret. The secret bytes are compared in constant time.
    pub(crate) fn authorizes(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return false;
        };
        let bytes = value.as_bytes();
        let Some(scheme) = bytes.get(..7) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        let presented = bytes[7..].trim_ascii();
        // Lengths are public (every secret has the same length); the bytes are not.
        bool::from(presented.ct_eq(self.0.as_bytes()))
    }
}

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    #[test]
    fn secrets_are_long_random_and_redacted() {
        let a = SessionSecret::generate().expect("random");
        let b = SessionSecret::generate().expect("random");
        assert_ne!(a.expose_for_agent_config(), b.expose_for_agent_config());
        assert_eq!(a.expose_for_agent_config().len(), PREFIX.len() + 43);
        assert_eq!(format!("{a:?}"), "SessionSecret(<redacted>)");
    }

    #[test]
    fn only_the_exact_bearer_secret_authorizes() {
        let secret = SessionSecret::generate().expect("random");
        let value = secret.expose_for_agent_config();
        assert!(secret.authorizes(&headers(&[&format!("Bearer {value}")])));
        assert!(secret.authorizes(&headers(&[&format!("bearer {value}")])));
        assert!(!secret.authorizes(&headers(&[])));
        assert!(!secret.authorizes(&headers(&[value])));
        assert!(!secret.authorizes(&headers(&[&format!("Basic {value}")])));
        assert!(!secret.authorizes(&headers(&[&format!("Bearer {value}x")])));
        assert!(!secret.authorizes(&headers(&[&format!("Bearer {}", &value[1..])])));
        assert!(!secret.authorizes(&headers(&["Bearer "])));
        let twice = format!("Bearer {value}");
        assert!(!secret.authorizes(&headers(&[&twice, &twice])));
    }
}
