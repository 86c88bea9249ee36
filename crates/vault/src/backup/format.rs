//! A backup file's bytes (docs/architecture.md, "Backups"): a header, the
//! sealed payload, a checksum. Version 1, integers big-endian:
//!
//! ```text
//!  offset size
//!    0     8  magic "KBBACKUP"
//!    8     2  format version (1)
//!   10     1  key derivation: 1 = recovery key (HKDF-SHA256),
//!                             2 = passphrase (Argon2id v1.3)
//!   11     4  Argon2id memory in KiB   (0 for a recovery key)
//!   15     4  Argon2id iterations      (0 for a recovery key)
//!   19     4  Argon2id parallelism     (0 for a recovery key)
//!   23    16  salt (random)
//!   39    12  nonce (random)
//!   51    32  key check: HMAC-SHA256(key, "keybearer backup key check v1")
//!   83     …  the payload sealed with AES-256-GCM (ciphertext and tag);
//!             associated data: bytes 0..83, so every header byte is
//!             authenticated
//!  end-32 32  SHA-256 of every byte before it
//! ```
//!
//! Every version starts with the magic and the version and ends with the
//! checksum, so any Keybearer can tell "not a backup", "damaged" (the
//! checksum: a copy cut short, a flipped bit) and "made by a newer
//! Keybearer" apart before asking for a key. Then the key check tells a
//! wrong key from a file altered on purpose (checksum made again): a key
//! that passes it but does not open the payload means the bytes were
//! changed. The checksum is not a protection (anyone can make it again);
//! the key and GCM's tag are.
//!
//! Keys: from a recovery key, HKDF-SHA256 (the recovery key already carries
//! 160 random bits) with the file's salt and the label "keybearer backup
//! kek v1" (the master key's recovery copy uses another label and salt, so
//! the two keys differ); from a passphrase, Argon2id with 64 MiB, 3
//! passes, 1 lane (`crypto::PassphraseParams::default`); a version-1 file
//! with other parameters is refused as altered (never a memory bomb). Never the keychain's
//! master key: a backup must open on a computer that has never seen it.

use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::backup_error::BackupError;
use crate::crypto::{self, PassphraseParams, NONCE_LEN};
use crate::error::{Error, Result};
use crate::recovery_key;
use crate::secret::UserSecret;

const MAGIC: &[u8; 8] = b"KBBACKUP";
/// The newest format this Keybearer reads and the one it writes.
pub(crate) const VERSION: u16 = 1;
const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 32;
const SUM_LEN: usize = 32;
const TAG_LEN: usize = 16;
const KDF_AT: usize = 10;
const PARAMS_AT: usize = 11;
const SALT_AT: usize = 23;
const NONCE_AT: usize = SALT_AT + SALT_LEN;
const CHECK_AT: usize = NONCE_AT + NONCE_LEN;
pub(crate) const HEADER_LEN: usize = CHECK_AT + CHECK_LEN;
const CHECK_LABEL: &[u8] = b"keybearer backup key check v1";
const KEK_LABEL: &[u8] = b"keybearer backup kek v1";

/// How a backup's key is made, as the front ends ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum SealKind {
    /// The recovery key that was current when the backup was made.
    RecoveryKey,
    /// A passphrase typed (twice) when the backup was made.
    Passphrase,
}

/// What seals a new backup.
#[derive(Debug)]
pub enum BackupSeal {
    /// This installation's current recovery key, as typed (checked first).
    RecoveryKey(UserSecret),
    /// A new passphrase for this backup (at least 10 characters).
    Passphrase(UserSecret),
}

/// A key derivation read from a header.
#[derive(Clone, Copy)]
enum Kdf {
    Recovery,
    Passphrase(PassphraseParams),
}

/// A backup file's header, checked: what to ask for and how to derive the key.
pub(crate) struct Header {
    bytes: [u8; HEADER_LEN],
    kdf: Kdf,
}

impl Header {
    pub(crate) fn kind(&self) -> SealKind {
        match self.kdf {
            Kdf::Recovery => SealKind::RecoveryKey,
            Kdf::Passphrase(_) => SealKind::Passphrase,
        }
    }

    fn salt(&self) -> &[u8] {
        &self.bytes[SALT_AT..NONCE_AT]
    }

    fn nonce(&self) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.bytes[NONCE_AT..CHECK_AT]);
        nonce
    }

    fn check(&self) -> &[u8] {
        &self.bytes[CHECK_AT..HEADER_LEN]
    }
}

/// A new file's header and key, made before anything is read (Argon2id
/// takes a moment; no transaction waits for it).
pub(crate) struct Sealer {
    header: [u8; HEADER_LEN],
    key: Zeroizing<[u8; 32]>,
}

impl Sealer {
    /// `Sealing::Recovery` holds the recovery key's bytes, already checked
    /// to be this installation's current one.
    pub(crate) fn new(seal: Sealing<'_>) -> Result<Self> {
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()..KDF_AT].copy_from_slice(&VERSION.to_be_bytes());
        crypto::fill_random(&mut header[SALT_AT..NONCE_AT])?;
        header[NONCE_AT..CHECK_AT].copy_from_slice(&crypto::random_nonce()?);
        let salt = header[SALT_AT..NONCE_AT].to_vec();
        let key = match seal {
            Sealing::Recovery(secret) => {
                header[KDF_AT] = 1;
                crypto::hkdf_kek(secret, &salt, KEK_LABEL)
            }
            Sealing::Passphrase(passphrase) => {
                let params = PassphraseParams::default();
                header[KDF_AT] = 2;
                header[PARAMS_AT..PARAMS_AT + 4].copy_from_slice(&params.memory_kib.to_be_bytes());
                header[PARAMS_AT + 4..PARAMS_AT + 8]
                    .copy_from_slice(&params.iterations.to_be_bytes());
                header[PARAMS_AT + 8..SALT_AT].copy_from_slice(&params.parallelism.to_be_bytes());
                crypto::kek_from_passphrase(passphrase.expose(), &salt, params)?
            }
        };
        header[CHECK_AT..].copy_from_slice(&crypto::check_value(&key, CHECK_LABEL));
        Ok(Self { header, key })
    }

    /// The whole file: header, sealed payload, checksum. Used once (one
    /// nonce per file).
    pub(crate) fn seal(self, payload: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&self.header[NONCE_AT..CHECK_AT]);
        let sealed = crypto::seal_detached(&self.key, &nonce, payload, &self.header)?;
        let mut file = Vec::with_capacity(HEADER_LEN + sealed.len() + SUM_LEN);
        file.extend_from_slice(&self.header);
        file.extend_from_slice(&sealed);
        let sum = Sha256::digest(&file);
        file.extend_from_slice(&sum);
        Ok(file)
    }
}

/// Seals `payload` into a whole file's bytes.
#[cfg(test)]
fn seal(payload: &[u8], seal: Sealing<'_>) -> Result<Vec<u8>> {
    Sealer::new(seal)?.seal(payload)
}

/// The key material a new backup is sealed with.
pub(crate) enum Sealing<'a> {
    Recovery(&'a [u8]),
    Passphrase(&'a UserSecret),
}

/// Checks a file's frame (magic, checksum, version) and reads its header;
/// `file` names it in messages.
pub(crate) fn read_header(bytes: &[u8], file: &str) -> Result<Header> {
    let named = || file.to_string();
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(BackupError::NotABackup { file: named() }.into());
    }
    let damaged = || Error::from(BackupError::Damaged { file: named() });
    if bytes.len() < KDF_AT + SUM_LEN {
        return Err(damaged());
    }
    let (body, sum) = bytes.split_at(bytes.len() - SUM_LEN);
    if Sha256::digest(body).as_slice() != sum {
        return Err(damaged());
    }
    let version = u16::from_be_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
    if version > VERSION {
        return Err(BackupError::TooNew {
            file: named(),
            found: version,
            supported: VERSION,
        }
        .into());
    }
    // Its checksum holds, so these were written so: a file altered on purpose.
    let altered = || Error::from(BackupError::Altered { file: named() });
    if version == 0 || body.len() < HEADER_LEN + TAG_LEN {
        return Err(altered());
    }
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let params = PassphraseParams {
        memory_kib: word(PARAMS_AT),
        iterations: word(PARAMS_AT + 4),
        parallelism: word(PARAMS_AT + 8),
    };
    let kdf = match bytes[KDF_AT] {
        1 if params.memory_kib == 0 && params.iterations == 0 && params.parallelism == 0 => {
            Kdf::Recovery
        }
        // Version 1 writes exactly the default parameters: anything else
        // was altered (and could make opening it take gigabytes or minutes).
        2 if params == PassphraseParams::default() => Kdf::Passphrase(params),
        _ => return Err(altered()),
    };
    let mut header = [0u8; HEADER_LEN];
    header.copy_from_slice(&bytes[..HEADER_LEN]);
    Ok(Header { bytes: header, kdf })
}

/// Opens a checked file with what the user typed: the payload's JSON, wiped
/// when dropped. A recovery key that does not look like one is said so; a
/// key that fails the key check is the wrong one; one that passes it but
/// does not open the payload means the file was altered.
pub(crate) fn open(
    bytes: &[u8],
    header: &Header,
    typed: &UserSecret,
    file: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let (key, wrong) = match header.kdf {
        Kdf::Recovery => {
            let secret = recovery_key::parse(typed)?;
            (
                crypto::hkdf_kek(&secret, header.salt(), KEK_LABEL),
                BackupError::WrongRecoveryKey,
            )
        }
        Kdf::Passphrase(params) => (
            crypto::kek_from_passphrase(typed.expose(), header.salt(), params)?,
            BackupError::WrongPassphrase,
        ),
    };
    if !crypto::check_matches(&key, CHECK_LABEL, header.check()) {
        return Err(wrong.into());
    }
    let sealed = &bytes[HEADER_LEN..bytes.len() - SUM_LEN];
    let plain =
        crypto::open_detached(&key, &header.nonce(), sealed, &header.bytes).map_err(|_| {
            BackupError::Altered {
                file: file.to_string(),
            }
        })?;
    Ok(Zeroizing::new(plain.expose_secret().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recovery() -> (UserSecret, Zeroizing<Vec<u8>>) {
        let (shown, bytes) = recovery_key::generate().expect("random");
        (UserSecret::new(shown.reveal_once().to_string()), bytes)
    }

    fn code(result: Result<impl Sized>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(error) => error.code().to_string(),
        }
    }

    #[test]
    fn a_sealed_file_opens_with_its_key_only() {
        let (typed, secret) = recovery();
        let file = seal(b"{\"payload\":1}", Sealing::Recovery(&secret)).expect("seal");
        let header = read_header(&file, "f").expect("header");
        assert_eq!(header.kind(), SealKind::RecoveryKey);
        let plain = open(&file, &header, &typed, "f").expect("open");
        assert_eq!(&plain[..], b"{\"payload\":1}");
        let (other, _) = recovery();
        assert_eq!(
            code(open(&file, &header, &other, "f")),
            "wrong_recovery_key"
        );
        assert_eq!(
            code(open(&file, &header, &UserSecret::new("nope".into()), "f")),
            "invalid_input"
        );
    }

    #[test]
    fn every_flipped_bit_and_every_cut_is_refused() {
        let (_, secret) = recovery();
        let file = seal(b"{}", Sealing::Recovery(&secret)).expect("seal");
        for at in 0..file.len() {
            let mut flipped = file.clone();
            flipped[at] ^= 0x01;
            // In the magic: "not a backup", the same code as damaged.
            assert_eq!(
                code(read_header(&flipped, "f")),
                "backup_damaged",
                "byte {at}"
            );
        }
        for len in 0..file.len() {
            assert_eq!(
                code(read_header(&file[..len], "f")),
                "backup_damaged",
                "{len}"
            );
        }
    }

    #[test]
    fn an_altered_file_with_its_checksum_made_again_is_told_apart() {
        let (typed, secret) = recovery();
        let file = seal(b"{}", Sealing::Recovery(&secret)).expect("seal");
        let resum = |mut bytes: Vec<u8>| {
            bytes.truncate(bytes.len() - SUM_LEN);
            let sum = Sha256::digest(&bytes);
            bytes.extend_from_slice(&sum);
            bytes
        };
        // The body: the key passes its check, the payload does not open.
        let mut body = file.clone();
        body[HEADER_LEN] ^= 0x80;
        let body = resum(body);
        let header = read_header(&body, "f").expect("frame holds");
        let error = open(&body, &header, &typed, "f").expect_err("refused");
        assert!(error.to_string().contains("altered"), "{error}");
        // The nonce (authenticated as associated data): the same.
        let mut nonce = file.clone();
        nonce[NONCE_AT] ^= 0x80;
        let nonce = resum(nonce);
        let header = read_header(&nonce, "f").expect("frame holds");
        assert!(open(&nonce, &header, &typed, "f")
            .expect_err("refused")
            .to_string()
            .contains("altered"));
        // A newer version.
        let mut newer = file.clone();
        newer[8..10].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(code(read_header(&resum(newer), "f")), "backup_too_new");
        // Passphrase parameters past the bounds.
        let mut huge = file;
        huge[KDF_AT] = 2;
        huge[PARAMS_AT..PARAMS_AT + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(code(read_header(&resum(huge), "f")), "backup_damaged");
    }

    #[test]
    fn a_passphrase_file_states_its_parameters_and_opens_with_the_passphrase() {
        let passphrase = UserSecret::new("correct horse battery staple".into());
        let file = seal(b"{\"a\":2}", Sealing::Passphrase(&passphrase)).expect("seal");
        assert_eq!(file[KDF_AT], 2);
        assert_eq!(
            &file[PARAMS_AT..PARAMS_AT + 4],
            &(64u32 * 1024).to_be_bytes()
        );
        let header = read_header(&file, "f").expect("header");
        assert_eq!(header.kind(), SealKind::Passphrase);
        assert_eq!(
            &open(&file, &header, &passphrase, "f").expect("open")[..],
            b"{\"a\":2}"
        );
        assert_eq!(
            code(open(
                &file,
                &header,
                &UserSecret::new("not the passphrase".into()),
                "f"
            )),
            "wrong_passphrase"
        );
    }
}
