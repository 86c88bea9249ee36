//! Keys: the master key's lifecycle (docs/architecture.md, "Keys").
//!
//! [`KeyRing`] holds what the engine knows about its key — the keychain, this
//! installation's id, and the master key once unlocked — and is shared by the
//! parts that need the key (the catalog to seal, the tokens part to open).
//! [`Keys`] is the part the front ends use: set up, unlock (keychain or
//! passphrase), recover with the recovery key, make a new recovery key.
//! The storage rules live in `lifecycle`: never a new key over existing
//! data, a key check value, a recovery copy wrapped by the recovery key.

mod lifecycle;

use crate::audit::EventKind;
use crate::error::{Error, Result};
use crate::keychain::{KeyStore, OsKeychain};
use crate::secret::{MasterKey, RecoveryKey, UserSecret};
use crate::store::events::{self, NewEvent};
use crate::store::Store;

pub(crate) use lifecycle::is_current_key;
pub use lifecycle::{KeyProtection, SetupProtection};

/// The keychain, this installation's id and, once unlocked, the master key.
pub(crate) struct KeyRing {
    keychain: Box<dyn KeyStore>,
    install_id: String,
    master: Option<MasterKey>,
}

impl KeyRing {
    pub(crate) fn new(keychain: Box<dyn KeyStore>, install_id: String) -> Self {
        Self {
            keychain,
            install_id,
            master: None,
        }
    }

    pub(crate) fn keychain(&self) -> &dyn KeyStore {
        self.keychain.as_ref()
    }

    /// The keychain account that holds this installation's master key.
    pub(crate) fn account(&self) -> String {
        OsKeychain::account_for(&self.install_id)
    }

    pub(crate) fn is_unlocked(&self) -> bool {
        self.master.is_some()
    }

    /// The master key, unlocking through the keychain if needed. A
    /// passphrase-protected vault must have been unlocked with
    /// [`Keys::unlock_with_passphrase`] first.
    pub(crate) fn master(&mut self, store: &Store) -> Result<MasterKey> {
        if self.master.is_none() {
            self.unlock(store)?;
        }
        self.master.clone().ok_or(Error::PassphraseRequired)
    }

    fn unlock(&mut self, store: &Store) -> Result<()> {
        if self.master.is_some() {
            return Ok(());
        }
        match lifecycle::protection(store.conn())? {
            None => Err(Error::NotInitialized),
            Some(KeyProtection::Passphrase) => Err(Error::PassphraseRequired),
            Some(KeyProtection::Keychain) => {
                let key = lifecycle::unlock_from_keychain(
                    store.conn(),
                    self.keychain.as_ref(),
                    &self.install_id,
                )?;
                self.master = Some(key);
                Ok(())
            }
        }
    }
}

/// The key lifecycle, borrowed from the [`Engine`](crate::Engine).
pub struct Keys<'e> {
    pub(crate) store: &'e mut Store,
    pub(crate) ring: &'e mut KeyRing,
}

impl Keys<'_> {
    pub fn protection(&self) -> Result<Option<KeyProtection>> {
        Self::protection_of(self.store)
    }

    pub(crate) fn protection_of(store: &Store) -> Result<Option<KeyProtection>> {
        lifecycle::protection(store.conn())
    }

    pub fn is_unlocked(&self) -> bool {
        self.ring.is_unlocked()
    }

    /// The keychain account that holds this installation's master key.
    pub fn keychain_account(&self) -> String {
        self.ring.account()
    }

    /// First setup: makes the master key and returns the recovery key, which
    /// the caller must show to the user exactly once.
    pub fn initialize(&mut self, how: SetupProtection) -> Result<RecoveryKey> {
        let tx = self.store.write()?;
        let (master, recovery) =
            lifecycle::set_up(&tx, self.ring.keychain(), &self.ring.install_id, &how)?;
        let detail = match how {
            SetupProtection::Keychain => "keychain",
            SetupProtection::Passphrase(_) => "passphrase",
        };
        events::insert(
            &tx,
            &NewEvent {
                detail: Some(detail),
                ..NewEvent::new(EventKind::SetupCompleted)
            },
        )?;
        tx.commit()?;
        tracing::info!(protection = detail, "vault initialised");
        self.ring.master = Some(master);
        Ok(recovery)
    }

    /// Unlocks with the keychain. Fails with `RecoveryNeeded` (never makes a
    /// new key) when the keychain lost or changed the key.
    pub fn unlock(&mut self) -> Result<()> {
        self.ring.unlock(self.store)
    }

    pub fn unlock_with_passphrase(&mut self, passphrase: &UserSecret) -> Result<()> {
        if self.protection()?.is_none() {
            return Err(Error::NotInitialized);
        }
        let key = lifecycle::unlock_with_passphrase(
            self.store.conn(),
            &self.ring.install_id,
            passphrase,
        )?;
        self.ring.master = Some(key);
        Ok(())
    }

    /// Restores access with the recovery key and stores the key again as
    /// `new_protection` says. Data is never touched.
    pub fn recover(
        &mut self,
        recovery: &UserSecret,
        new_protection: SetupProtection,
    ) -> Result<()> {
        let tx = self.store.write()?;
        let key = lifecycle::recover(
            &tx,
            self.ring.keychain(),
            &self.ring.install_id,
            recovery,
            &new_protection,
        )
        .inspect_err(|error| tracing::warn!(code = %error.code(), "recovery failed"))?;
        events::insert(&tx, &NewEvent::new(EventKind::KeyRecovered))?;
        tx.commit()?;
        tracing::info!("master key recovered");
        self.ring.master = Some(key);
        Ok(())
    }

    /// Makes a new recovery key; the previous one stops working.
    pub fn regenerate_recovery_key(&mut self) -> Result<RecoveryKey> {
        let master = self.ring.master(self.store)?;
        let tx = self.store.write()?;
        let recovery = lifecycle::store_recovery_wrap(&tx, &self.ring.install_id, &master)?;
        events::insert(&tx, &NewEvent::new(EventKind::RecoveryKeyRegenerated))?;
        tx.commit()?;
        Ok(recovery)
    }
}
