//! The master key's storage, as functions over the database: first setup,
//! unlocking, recovery and the passphrase fallback. The one rule that matters
//! most: a new key is made only for an empty database.

use rusqlite::Connection;
use zeroize::Zeroizing;

use crate::crypto::{self, PassphraseParams};
use crate::error::{Error, Result};
use crate::keychain::{KeyStore, OsKeychain};
use crate::recovery_key;
use crate::secret::{MasterKey, RecoveryKey, UserSecret};
use crate::store::{credentials, meta, vaults};

/// Where the master key is kept between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum KeyProtection {
    /// The OS keychain (the default).
    Keychain,
    /// Wrapped in the database under an Argon2id passphrase, for machines with no keychain.
    Passphrase,
}

impl KeyProtection {
    fn as_str(self) -> &'static str {
        match self {
            Self::Keychain => "keychain",
            Self::Passphrase => "passphrase",
        }
    }
}

/// How first setup should protect the new master key.
#[derive(Debug)]
pub enum SetupProtection {
    Keychain,
    Passphrase(UserSecret),
}

pub(crate) const MIN_PASSPHRASE_CHARS: usize = 10;

pub(crate) fn protection(conn: &Connection) -> Result<Option<KeyProtection>> {
    Ok(
        match meta::get_text(conn, meta::KEY_PROTECTION)?.as_deref() {
            Some("passphrase") => Some(KeyProtection::Passphrase),
            Some(_) => Some(KeyProtection::Keychain),
            None => None,
        },
    )
}

/// A key made but not stored yet: shown to the user first, stored only once
/// that worked (`Keys::commit`). Dropping it changes nothing.
pub struct PendingKey {
    pub(crate) recovery: RecoveryKey,
    pub(crate) recovery_wrap: Vec<u8>,
    /// First setup only: the new master key and how it is to be kept.
    pub(crate) setup: Option<(MasterKey, PendingProtection)>,
}

pub(crate) enum PendingProtection {
    Keychain,
    Passphrase(PassphraseWrap),
}

impl PendingKey {
    /// The recovery key to show, once, before committing.
    pub fn recovery_key(&self) -> &RecoveryKey {
        &self.recovery
    }

    /// A first setup (not a new recovery key for an existing master key).
    pub(crate) fn is_setup(&self) -> bool {
        self.setup.is_some()
    }

    /// How a first setup keeps the key, as its audit event says it.
    pub(crate) fn setup_detail(&self) -> Option<&'static str> {
        match &self.setup {
            Some((_, PendingProtection::Keychain)) => Some("keychain"),
            Some((_, PendingProtection::Passphrase(_))) => Some("passphrase"),
            None => None,
        }
    }
}

impl std::fmt::Debug for PendingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingKey(<redacted>)")
    }
}

/// Makes the master key for an empty database, with its recovery copy. Only
/// the keychain is written (keychain setups); the database is not.
pub(crate) fn plan_set_up(
    conn: &Connection,
    keychain: &dyn KeyStore,
    install_id: &str,
    how: &SetupProtection,
) -> Result<PendingKey> {
    refuse_existing_data(conn)?;
    let master = MasterKey::generate()?;
    let protection = match how {
        SetupProtection::Keychain => {
            // Keychain first, so a missing or locked keychain is reported
            // before a recovery key is shown. Until the commit the database
            // is untouched, and an abandoned key here is replaced by the next
            // setup (the account belongs to this installation only).
            keychain.save(&OsKeychain::account_for(install_id), &master)?;
            PendingProtection::Keychain
        }
        SetupProtection::Passphrase(passphrase) => {
            PendingProtection::Passphrase(passphrase_wrap(install_id, &master, passphrase)?)
        }
    };
    let (recovery, recovery_wrap) = recovery_wrap(install_id, &master)?;
    Ok(PendingKey {
        recovery,
        recovery_wrap,
        setup: Some((master, protection)),
    })
}

/// Stores a planned key: the master key in the keychain (or its passphrase
/// copy), the recovery copy, the key check value. Returns the master key.
pub(crate) fn apply(
    conn: &Connection,
    keychain: &dyn KeyStore,
    install_id: &str,
    pending: PendingKey,
) -> Result<Option<MasterKey>> {
    let PendingKey {
        recovery_wrap,
        setup,
        ..
    } = pending;
    let Some((master, protection)) = setup else {
        // A new recovery key for the existing master key.
        meta::set(conn, meta::RECOVERY_WRAPPED_KEY, &recovery_wrap)?;
        return Ok(None);
    };
    refuse_existing_data(conn)?;
    let kind = match &protection {
        // Saved in the keychain when planned; make sure it is still there.
        PendingProtection::Keychain => match keychain.load(&OsKeychain::account_for(install_id))? {
            Some(stored) if bool::from(subtle::ConstantTimeEq::ct_eq(
                &stored.as_bytes()[..],
                &master.as_bytes()[..],
            )) =>
            {
                KeyProtection::Keychain
            }
            _ => return Err(Error::invalid(
                "recovery_key",
                "The system keychain no longer holds the new key (another setup may have replaced it). Start the setup again.",
            )),
        },
        PendingProtection::Passphrase(wrap) => {
            store_passphrase_wrap(conn, wrap)?;
            KeyProtection::Passphrase
        }
    };
    meta::set(conn, meta::RECOVERY_WRAPPED_KEY, &recovery_wrap)?;
    meta::set(conn, meta::KEY_CHECK, &crypto::key_check_value(&master))?;
    meta::set(conn, meta::KEY_PROTECTION, kind.as_str().as_bytes())?;
    Ok(Some(master))
}

/// Setup only ever happens on an empty database.
fn refuse_existing_data(conn: &Connection) -> Result<()> {
    if protection(conn)?.is_some() {
        return Err(Error::AlreadyInitialized);
    }
    if vaults::count(conn)? > 0 || credentials::count(conn)? > 0 {
        // Data without a key check: never paper over it with a fresh key.
        return Err(Error::RecoveryNeeded);
    }
    Ok(())
}

/// A new recovery copy of `master`, not stored yet.
pub(crate) fn plan_new_recovery_key(install_id: &str, master: &MasterKey) -> Result<PendingKey> {
    let (recovery, recovery_wrap) = recovery_wrap(install_id, master)?;
    Ok(PendingKey {
        recovery,
        recovery_wrap,
        setup: None,
    })
}

/// Reads the key from the keychain and checks it against the stored check value.
pub(crate) fn unlock_from_keychain(
    conn: &Connection,
    keychain: &dyn KeyStore,
    install_id: &str,
) -> Result<MasterKey> {
    let check = key_check(conn)?;
    match keychain.load(&OsKeychain::account_for(install_id))? {
        Some(key) if crypto::key_matches_check(&key, &check) => Ok(key),
        // Missing, or a different key: only the recovery key can help. Never make a new one.
        _ => Err(Error::RecoveryNeeded),
    }
}

/// Whether `key` is this database's master key (always false before setup).
pub(crate) fn is_current_key(conn: &Connection, key: &MasterKey) -> Result<bool> {
    Ok(meta::get(conn, meta::KEY_CHECK)?
        .is_some_and(|check| crypto::key_matches_check(key, &check)))
}

pub(crate) fn unlock_with_passphrase(
    conn: &Connection,
    install_id: &str,
    passphrase: &UserSecret,
) -> Result<MasterKey> {
    let check = key_check(conn)?;
    let (Some(wrapped), Some(salt), Some(params)) = (
        meta::get(conn, meta::PASSPHRASE_WRAPPED_KEY)?,
        meta::get(conn, meta::PASSPHRASE_SALT)?,
        meta::get(conn, meta::PASSPHRASE_PARAMS)?,
    ) else {
        return Err(Error::RecoveryNeeded);
    };
    let params: PassphraseParams =
        serde_json::from_slice(&params).map_err(|_| Error::RecoveryNeeded)?;
    let kek = crypto::kek_from_passphrase(passphrase.expose(), &salt, params)?;
    let key = unwrap(&kek, &wrapped, "passphrase", install_id).ok_or(Error::WrongPassphrase)?;
    if !crypto::key_matches_check(&key, &check) {
        return Err(Error::WrongPassphrase);
    }
    Ok(key)
}

/// Opens the recovery copy of the master key and puts the key back where it
/// belongs (the keychain, or under a new passphrase).
pub(crate) fn recover(
    conn: &Connection,
    keychain: &dyn KeyStore,
    install_id: &str,
    recovery: &UserSecret,
    new_protection: &SetupProtection,
) -> Result<MasterKey> {
    let (key, _) = open_recovery_copy(conn, install_id, recovery)?;
    match new_protection {
        SetupProtection::Keychain => {
            keychain.save(&OsKeychain::account_for(install_id), &key)?;
            meta::set(
                conn,
                meta::KEY_PROTECTION,
                KeyProtection::Keychain.as_str().as_bytes(),
            )?;
        }
        SetupProtection::Passphrase(passphrase) => {
            store_passphrase_wrap(conn, &passphrase_wrap(install_id, &key, passphrase)?)?;
            meta::set(
                conn,
                meta::KEY_PROTECTION,
                KeyProtection::Passphrase.as_str().as_bytes(),
            )?;
        }
    }
    Ok(key)
}

/// Opens the stored recovery copy of the master key with `recovery`:
/// `WrongRecoveryKey` unless it is this installation's current recovery
/// key. Returns the key and the recovery key's bytes (a backup is sealed
/// with a key derived from them).
pub(crate) fn open_recovery_copy(
    conn: &Connection,
    install_id: &str,
    recovery: &UserSecret,
) -> Result<(MasterKey, Zeroizing<Vec<u8>>)> {
    let check = key_check(conn)?;
    let secret = recovery_key::parse(recovery)?;
    let wrapped = meta::get(conn, meta::RECOVERY_WRAPPED_KEY)?.ok_or(Error::WrongRecoveryKey)?;
    let kek = crypto::kek_from_recovery(&secret, install_id);
    let key = unwrap(&kek, &wrapped, "recovery", install_id).ok_or(Error::WrongRecoveryKey)?;
    if !crypto::key_matches_check(&key, &check) {
        return Err(Error::WrongRecoveryKey);
    }
    Ok((key, secret))
}

/// A recovery key and the master key wrapped by it.
fn recovery_wrap(install_id: &str, master: &MasterKey) -> Result<(RecoveryKey, Vec<u8>)> {
    let (display, secret) = recovery_key::generate()?;
    let kek = crypto::kek_from_recovery(&secret, install_id);
    let wrapped = crypto::seal(
        &kek,
        master.as_bytes(),
        &crypto::key_wrap_aad("recovery", install_id),
    )?;
    Ok((display, wrapped))
}

/// The master key wrapped under a passphrase (Argon2id), ready to store.
pub(crate) struct PassphraseWrap {
    salt: [u8; 16],
    params_json: Vec<u8>,
    wrapped: Vec<u8>,
}

fn passphrase_wrap(
    install_id: &str,
    master: &MasterKey,
    passphrase: &UserSecret,
) -> Result<PassphraseWrap> {
    check_new_passphrase(passphrase)?;
    let mut salt = [0u8; 16];
    crypto::fill_random(&mut salt)?;
    let params = PassphraseParams::default();
    let kek = crypto::kek_from_passphrase(passphrase.expose(), &salt, params)?;
    let wrapped = crypto::seal(
        &kek,
        master.as_bytes(),
        &crypto::key_wrap_aad("passphrase", install_id),
    )?;
    let params_json = serde_json::to_vec(&params)
        .map_err(|error| Error::invalid("passphrase", error.to_string()))?;
    Ok(PassphraseWrap {
        salt,
        params_json,
        wrapped,
    })
}

/// A new passphrase (the vault's, a backup's) is long enough.
pub(crate) fn check_new_passphrase(passphrase: &UserSecret) -> Result<()> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::invalid(
            "passphrase",
            format!("Choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters; a few unrelated words work well."),
        ));
    }
    Ok(())
}

fn store_passphrase_wrap(conn: &Connection, wrap: &PassphraseWrap) -> Result<()> {
    meta::set(conn, meta::PASSPHRASE_SALT, &wrap.salt)?;
    meta::set(conn, meta::PASSPHRASE_PARAMS, &wrap.params_json)?;
    meta::set(conn, meta::PASSPHRASE_WRAPPED_KEY, &wrap.wrapped)?;
    Ok(())
}

fn key_check(conn: &Connection) -> Result<Vec<u8>> {
    meta::get(conn, meta::KEY_CHECK)?.ok_or(Error::NotInitialized)
}

fn unwrap(
    kek: &Zeroizing<[u8; 32]>,
    wrapped: &[u8],
    purpose: &str,
    install_id: &str,
) -> Option<MasterKey> {
    use secrecy::ExposeSecret;
    let opened = crypto::open(kek, wrapped, &crypto::key_wrap_aad(purpose, install_id)).ok()?;
    MasterKey::from_bytes(opened.expose_secret())
}
