//! Sealing and opening secrets with AES-256-GCM, plus the key-derivation
//! helpers for recovery keys and passphrases (the master key's wraps and
//! backup files use the same ones).
//!
//! Envelope (version 1): `b"AVE"` | version `0x01` | 12-byte random nonce |
//! ciphertext with the 16-byte GCM tag. The associated data is never stored:
//! the caller rebuilds it from the row, so a ciphertext moved to another row
//! (another credential, vault or URL) fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use secrecy::SecretBox;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{MasterKey, SecretBytes};

const MAGIC: &[u8; 3] = b"AVE";
const VERSION: u8 = 1;
pub(crate) const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_LEN;
const KEY_CHECK_LABEL: &[u8] = b"keybearer key check v1";

/// Why an envelope did not open. Callers turn this into a user-facing error
/// that names the thing that failed (a credential, a recovery key…).
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    NotAnEnvelope,
    UnsupportedVersion(u8),
    /// Wrong key, wrong associated data, or altered bytes: GCM cannot tell which.
    Rejected,
}

pub(crate) fn fill_random(buffer: &mut [u8]) -> Result<()> {
    getrandom::getrandom(buffer).map_err(|error| Error::Randomness(error.to_string()))
}

pub(crate) fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let nonce = random_nonce()?;
    let ciphertext = seal_detached(key, &nonce, plaintext, aad)?;
    let mut envelope = Vec::with_capacity(HEADER_LEN + ciphertext.len());
    envelope.extend_from_slice(MAGIC);
    envelope.push(VERSION);
    envelope.extend_from_slice(&nonce);
    envelope.extend_from_slice(&ciphertext);
    Ok(envelope)
}

pub(crate) fn open(
    key: &[u8; 32],
    envelope: &[u8],
    aad: &[u8],
) -> std::result::Result<SecretBytes, OpenError> {
    if envelope.len() < HEADER_LEN || &envelope[..MAGIC.len()] != MAGIC {
        return Err(OpenError::NotAnEnvelope);
    }
    let version = envelope[MAGIC.len()];
    if version != VERSION {
        return Err(OpenError::UnsupportedVersion(version));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&envelope[MAGIC.len() + 1..HEADER_LEN]);
    open_detached(key, &nonce, &envelope[HEADER_LEN..], aad)
}

/// A fresh random 96-bit GCM nonce.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    Ok(nonce)
}

/// AES-256-GCM with a nonce the caller keeps (a backup file's header holds
/// it): the ciphertext with its tag, no envelope.
pub(crate) fn seal_detached(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>> {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Randomness("encryption failed".into()))
}

/// Opens what [`seal_detached`] made.
pub(crate) fn open_detached(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    ciphertext: &[u8],
    aad: &[u8],
) -> std::result::Result<SecretBytes, OpenError> {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(|plain| SecretBox::new(Box::new(plain)))
        .map_err(|_| OpenError::Rejected)
}

/// Associated data for a credential's token: binds it to its row.
pub(crate) fn credential_aad(credential_id: &str, vault_id: &str, url: &str) -> Vec<u8> {
    [
        b"keybearer/credential/v1".as_slice(),
        credential_id.as_bytes(),
        vault_id.as_bytes(),
        url.as_bytes(),
    ]
    .join(&0u8)
}

/// Associated data for a wrapped copy of the master key.
pub(crate) fn key_wrap_aad(purpose: &str, install_id: &str) -> Vec<u8> {
    [
        b"keybearer/master-key/v1".as_slice(),
        purpose.as_bytes(),
        install_id.as_bytes(),
    ]
    .join(&0u8)
}

/// HMAC of a constant under the master key: tells whether a key is the right
/// one without storing anything that helps an attacker.
pub(crate) fn key_check_value(key: &MasterKey) -> Vec<u8> {
    check_value(key.as_bytes(), KEY_CHECK_LABEL).to_vec()
}

pub(crate) fn key_matches_check(key: &MasterKey, check: &[u8]) -> bool {
    check_matches(key.as_bytes(), KEY_CHECK_LABEL, check)
}

/// HMAC-SHA256 of `label` under `key`: a key check value for any key (the
/// master key's, a backup's).
pub(crate) fn check_value(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Whether `check` is [`check_value`] of `label` under `key` (constant time).
pub(crate) fn check_matches(key: &[u8; 32], label: &[u8], check: &[u8]) -> bool {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(label);
    mac.verify_slice(check).is_ok()
}

/// Key-encryption key from a recovery key. The recovery key already carries
/// 160 random bits, so a fast KDF is enough.
pub(crate) fn kek_from_recovery(secret: &[u8], install_id: &str) -> Zeroizing<[u8; 32]> {
    hkdf_kek(secret, install_id.as_bytes(), b"keybearer recovery kek v1")
}

/// HKDF-SHA256 of a high-entropy secret (a recovery key) into a 256-bit
/// key, for one purpose (`info`) and salt.
pub(crate) fn hkdf_kek(secret: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf::Hkdf::<Sha256>::new(Some(salt), secret)
        .expand(info, okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// Argon2id parameters, stored beside the wrapped key so they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PassphraseParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PassphraseParams {
    fn default() -> Self {
        // OWASP's first Argon2id recommendation: 19 MiB was the floor; we use 64 MiB.
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl PassphraseParams {
    /// Parameters read back from the database are trusted only within these
    /// bounds: a tampered row must not make unlocking allocate gigabytes or
    /// spin for hours. (Lowering them gains an attacker nothing: the stored
    /// wrap was made with the real ones, so other values only fail to open.)
    pub(crate) fn within_bounds(self) -> bool {
        (8..=1024 * 1024).contains(&self.memory_kib)
            && (1..=16).contains(&self.iterations)
            && (1..=8).contains(&self.parallelism)
    }
}

pub(crate) fn kek_from_passphrase(
    passphrase: &str,
    salt: &[u8],
    params: PassphraseParams,
) -> Result<Zeroizing<[u8; 32]>> {
    if !params.within_bounds() {
        return Err(Error::invalid(
            "passphrase",
            "The stored passphrase settings are outside what Keybearer accepts; the data may have been altered. Use your recovery key instead.",
        ));
    }
    let argon_params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|error| Error::invalid("passphrase", format!("bad key parameters: {error}")))?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut okm = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, okm.as_mut())
        .map_err(|error| Error::invalid("passphrase", format!("cannot derive a key: {error}")))?;
    Ok(okm)
}

#[cfg(test)]
mod passphrase_bounds {
    use super::*;

    #[test]
    fn defaults_are_within_bounds_and_extremes_are_refused() {
        assert!(PassphraseParams::default().within_bounds());
        for params in [
            PassphraseParams {
                memory_kib: u32::MAX,
                iterations: 3,
                parallelism: 1,
            },
            PassphraseParams {
                memory_kib: 4,
                iterations: 3,
                parallelism: 1,
            },
            PassphraseParams {
                memory_kib: 65536,
                iterations: 1_000_000,
                parallelism: 1,
            },
            PassphraseParams {
                memory_kib: 65536,
                iterations: 3,
                parallelism: 255,
            },
        ] {
            assert!(!params.within_bounds(), "{params:?}");
            assert!(kek_from_passphrase("a long passphrase", &[0; 16], params).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn key(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn round_trip() {
        let aad = credential_aad("cred_1", "vlt_1", "https://a.example/mcp");
        let sealed = seal(&key(7), b"token-bytes", &aad).expect("seal");
        let opened = open(&key(7), &sealed, &aad).expect("open");
        assert_eq!(opened.expose_secret().as_slice(), b"token-bytes");
        assert!(!sealed.windows(11).any(|w| w == b"token-bytes"));
    }

    #[test]
    fn nonces_are_fresh() {
        let a = seal(&key(7), b"same", b"aad").expect("seal");
        let b = seal(&key(7), b"same", b"aad").expect("seal");
        assert_ne!(a, b);
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let mut sealed = seal(&key(7), b"token", b"aad").expect("seal");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(
            open(&key(7), &sealed, b"aad").err(),
            Some(OpenError::Rejected)
        );
        let mut nonce_flipped = seal(&key(7), b"token", b"aad").expect("seal");
        nonce_flipped[5] ^= 0x80;
        assert_eq!(
            open(&key(7), &nonce_flipped, b"aad").err(),
            Some(OpenError::Rejected)
        );
    }

    #[test]
    fn wrong_aad_is_rejected() {
        let aad = credential_aad("cred_1", "vlt_1", "https://a.example/mcp");
        let sealed = seal(&key(7), b"token", &aad).expect("seal");
        for other in [
            credential_aad("cred_2", "vlt_1", "https://a.example/mcp"),
            credential_aad("cred_1", "vlt_2", "https://a.example/mcp"),
            credential_aad("cred_1", "vlt_1", "https://b.example/mcp"),
        ] {
            assert_eq!(
                open(&key(7), &sealed, &other).err(),
                Some(OpenError::Rejected)
            );
        }
    }

    #[test]
    fn wrong_key_is_rejected() {
        let sealed = seal(&key(7), b"token", b"aad").expect("seal");
        assert_eq!(
            open(&key(8), &sealed, b"aad").err(),
            Some(OpenError::Rejected)
        );
    }

    #[test]
    fn version_and_magic_are_checked() {
        let mut sealed = seal(&key(7), b"token", b"aad").expect("seal");
        sealed[3] = 2;
        assert_eq!(
            open(&key(7), &sealed, b"aad").err(),
            Some(OpenError::UnsupportedVersion(2))
        );
        assert_eq!(
            open(&key(7), b"plaintext-token", b"aad").err(),
            Some(OpenError::NotAnEnvelope)
        );
        assert_eq!(
            open(&key(7), b"AVE", b"aad").err(),
            Some(OpenError::NotAnEnvelope)
        );
    }

    #[test]
    fn key_check_value_tells_keys_apart() {
        let right = MasterKey::from_bytes(&key(1)).expect("32 bytes");
        let wrong = MasterKey::from_bytes(&key(2)).expect("32 bytes");
        let check = key_check_value(&right);
        assert!(key_matches_check(&right, &check));
        assert!(!key_matches_check(&wrong, &check));
        assert!(!check.windows(32).any(|w| w == right.as_bytes()));
    }

    #[test]
    fn kdfs_are_deterministic_and_salted() {
        assert_eq!(*kek_from_recovery(b"r", "a"), *kek_from_recovery(b"r", "a"));
        assert_ne!(*kek_from_recovery(b"r", "a"), *kek_from_recovery(b"r", "b"));
        let cheap = PassphraseParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = kek_from_passphrase("pw", b"saltsaltsalt", cheap).expect("kdf");
        let b = kek_from_passphrase("pw", b"saltsaltsalt", cheap).expect("kdf");
        let c = kek_from_passphrase("pw", b"othersaltsal", cheap).expect("kdf");
        assert_eq!(*a, *b);
        assert_ne!(*a, *c);
    }
}
