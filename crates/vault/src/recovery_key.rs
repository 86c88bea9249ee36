//! Recovery keys: 160 random bits shown as eight groups of four base32
//! characters (`ABCD-EFGH-…`), easy to write down and type back.

use data_encoding::BASE32_NOPAD;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{RecoveryKey, UserSecret};

const RECOVERY_KEY_BYTES: usize = 20;
const GROUP_LEN: usize = 4;

pub(crate) fn generate() -> Result<(RecoveryKey, Zeroizing<Vec<u8>>)> {
    let mut bytes = Zeroizing::new(vec![0u8; RECOVERY_KEY_BYTES]);
    crate::crypto::fill_random(&mut bytes)?;
    let encoded = Zeroizing::new(BASE32_NOPAD.encode(&bytes));
    let grouped = encoded
        .as_bytes()
        .chunks(GROUP_LEN)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    Ok((RecoveryKey::new(grouped), bytes))
}

/// Accepts the key as the user typed it: any case, with or without dashes or
/// spaces, and the digits people confuse with letters (0→O, 1→I, 8→B).
pub(crate) fn parse(input: &UserSecret) -> Result<Zeroizing<Vec<u8>>> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        input
            .expose()
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\t' | '\n' | '\r'))
            .map(|c| match c.to_ascii_uppercase() {
                '0' => 'O',
                '1' => 'I',
                '8' => 'B',
                other => other,
            })
            .collect(),
    );
    let malformed = || {
        Error::invalid(
            "recovery_key",
            "That does not look like a recovery key. It has 32 letters and digits in groups of four, like ABCD-EFGH-….",
        )
    };
    let bytes = BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| malformed())?;
    if bytes.len() != RECOVERY_KEY_BYTES {
        return Err(malformed());
    }
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_in_any_typed_form() {
        let (key, bytes) = generate().expect("random");
        let shown = key.reveal_once().to_string();
        assert_eq!(shown.len(), 32 + 7);
        assert_eq!(shown.split('-').count(), 8);
        let typed_loosely = shown.replace('-', " ").to_lowercase();
        assert_eq!(*parse(&UserSecret::new(shown)).expect("parse"), *bytes);
        assert_eq!(
            *parse(&UserSecret::new(typed_loosely)).expect("parse"),
            *bytes
        );
    }

    #[test]
    fn confusable_digits_are_read_as_letters() {
        let canonical = "AAAA-BBBB-IIII-OOOO-AAAA-BBBB-CCCC-DDDD";
        let typed = "aaaa-8888-1111-0000-aaaa-bbbb-cccc-dddd";
        let a = parse(&UserSecret::new(canonical.into())).expect("parse");
        let b = parse(&UserSecret::new(typed.into())).expect("parse");
        assert_eq!(*a, *b);
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in ["", "ABCD", "ABCD-EFGH-!!!!", &"A".repeat(40)] {
            let error = parse(&UserSecret::new(bad.into())).expect_err(bad);
            assert_eq!(error.code(), "invalid_input");
        }
    }
}
