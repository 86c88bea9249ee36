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
pub(crate) use lifecycle::{apply as apply_pending, check_new_passphrase, open_recovery_copy};
pub use lifecycle::{KeyProtection, PendingKey, SetupProtection};

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

    /// This installation's id (the keychain account and the wraps' salt).
    pub(crate) fn install_id(&self) -> &str {
        &self.install_id
    }

    /// The master key a restore stored with its data (`backup/restore.rs`).
    pub(crate) fn set_master(&mut self, key: MasterKey) {
        self.master = Some(key);
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

    /// First setup, step one: makes the master key and its recovery key; the
    /// database is not touched (a keychain setup saves the key in the
    /// keychain now, so a missing keychain is said before anything is
    /// shown). Show [`PendingKey::recovery_key`] to the
    /// user, then [`Keys::commit`] it once that worked (the CLI: written and
    /// flushed; the window: "I have saved it" ticked). Dropping it instead
    /// changes nothing.
    pub fn plan_setup(&mut self, how: SetupProtection) -> Result<PendingKey> {
        lifecycle::plan_set_up(
            self.store.conn(),
            self.ring.keychain(),
            &self.ring.install_id,
            &how,
        )
    }

    /// A new recovery key for the unlocked master key, step one: nothing
    /// changes (the old key keeps working) until [`Keys::commit`].
    pub fn plan_new_recovery_key(&mut self) -> Result<PendingKey> {
        let master = self.ring.master(self.store)?;
        lifecycle::plan_new_recovery_key(&self.ring.install_id, &master)
    }

    /// Stores a key shown to the user: first setup (the master key into the
    /// keychain or under the passphrase) or a new recovery key (the old one
    /// stops working).
    pub fn commit(&mut self, pending: PendingKey) -> Result<()> {
        let detail = pending.setup_detail();
        let kind = if pending.is_setup() {
            EventKind::SetupCompleted
        } else {
            EventKind::RecoveryKeyRegenerated
        };
        let tx = self.store.write()?;
        let master = lifecycle::apply(&tx, self.ring.keychain(), &self.ring.install_id, pending)?;
        events::insert(
            &tx,
            &NewEvent {
                detail,
                ..NewEvent::new(kind)
            },
        )?;
        tx.commit()?;
        if let Some(master) = master {
            tracing::info!(protection = detail.unwrap_or_default(), "vault initialised");
            self.ring.master = Some(master);
        } else {
            tracing::info!("recovery key replaced");
        }
        Ok(())
    }

    /// First setup in one step, for callers whose way of showing the key
    /// cannot fail (tests); front ends use [`Keys::plan_setup`] and
    /// [`Keys::commit`].
    pub fn initialize(&mut self, how: SetupProtection) -> Result<RecoveryKey> {
        let pending = self.plan_setup(how)?;
        let recovery = RecoveryKey::new(pending.recovery_key().reveal_once().to_string());
        self.commit(pending)?;
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
}
