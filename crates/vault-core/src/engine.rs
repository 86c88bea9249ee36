//! `Engine`: the one entry point the CLI and the desktop shell use. It owns
//! the database connection, the keychain handle and, once unlocked, the
//! master key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Serialize;

use crate::audit::EventKind;
use crate::crypto;
use crate::error::{Error, Result};
use crate::injection_cache::{self, InjectionCache};
use crate::keychain::{KeyStore, KeychainError, OsKeychain};
use crate::keys::{self, KeyProtection, SetupProtection};
use crate::model::{
    new_id, validate_colour, validate_environment_name, validate_name, Credential, CredentialType,
    Environment, Event, NewCredential, Resolution, Timestamp, Vault,
};
use crate::probe::ConnectionTest;
use crate::secret::{AccessToken, MasterKey, RecoveryKey, UserSecret};
use crate::server_url::{guess_protocol, normalize_server_url};
use crate::store::events::NewEvent;
use crate::store::{credentials, environments, events, meta, migrations, vaults, Store};
use crate::usage::{self, CredentialUse, UsageRecorder};

const DEFAULT_ENVIRONMENT: &str = "development";

/// What `status` reports: enough to pick the right screen (setup, unlock,
/// recovery, main) without touching a secret.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Status {
    pub data_dir: PathBuf,
    /// The keychain entry (service `keybearer`) that holds this installation's key.
    pub keychain_account: String,
    pub initialized: bool,
    pub protection: Option<KeyProtection>,
    pub keychain: KeychainStatus,
    pub unlocked: bool,
    pub recovery_needed: bool,
    pub active_environment: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub vaults: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub credentials: i64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub schema_version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum KeychainStatus {
    /// Reachable; `has_key` says whether this installation's key is in it.
    Available {
        has_key: bool,
    },
    Locked {
        detail: String,
    },
    Unavailable {
        detail: String,
    },
}

/// A token ready to be put into an `Authorization` header by the injecting
/// proxy. This is the only way a token leaves the engine; nothing that
/// displays, logs or serialises data may call [`InjectableToken::expose_for_injection`].
pub struct InjectableToken(AccessToken);

impl InjectableToken {
    pub fn expose_for_injection(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for InjectableToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InjectableToken(<redacted>)")
    }
}

#[derive(Debug)]
pub struct Injection {
    pub resolution: Resolution,
    pub token: InjectableToken,
}

/// Result of checking one stored token without revealing it.
#[derive(Debug, Serialize)]
pub struct CredentialCheck {
    pub credential_id: String,
    pub mcp_server_url: String,
    pub ok: bool,
    pub error: Option<Error>,
}

pub struct Engine {
    store: Store,
    keychain: Box<dyn KeyStore>,
    data_dir: PathBuf,
    install_id: String,
    master: Option<MasterKey>,
    injections: InjectionCache,
}

/// The data folder: `KEYBEARER_HOME` if set, else the OS app-data folder
/// (`~/.local/share/keybearer`, `~/Library/Application Support/keybearer`,
/// `%APPDATA%\keybearer`).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("KEYBEARER_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    directories::BaseDirs::new()
        .map(|dirs| dirs.data_dir().join("keybearer"))
        .ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no home folder found; set KEYBEARER_HOME to choose a data folder",
            ))
        })
}

impl Engine {
    /// Opens the vault in `data_dir` with the OS keychain. Does not unlock.
    pub fn open(data_dir: &Path) -> Result<Self> {
        Self::open_with_keychain(data_dir, Box::new(OsKeychain))
    }

    pub fn open_with_keychain(data_dir: &Path, keychain: Box<dyn KeyStore>) -> Result<Self> {
        let mut store = Store::open(data_dir)?;
        let install_id = match meta::get_text(store.conn(), meta::INSTALL_ID)? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::now_v7().simple().to_string();
                let tx = store.write()?;
                // Another process may have raced us to it: keep whichever landed first.
                tx.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                    rusqlite::params![meta::INSTALL_ID, id.as_bytes()],
                )?;
                let stored = meta::get_text(&tx, meta::INSTALL_ID)?.unwrap_or(id);
                tx.commit()?;
                stored
            }
        };
        Ok(Self {
            store,
            keychain,
            data_dir: data_dir.to_path_buf(),
            install_id,
            master: None,
            injections: InjectionCache::default(),
        })
    }

    /// A second handle on the same vault with its own database connection,
    /// unlocked if this one is. The session proxy runs on one so its lookups
    /// never wait behind this handle's work.
    pub fn reopen(&self) -> Result<Self> {
        let mut other = Self::open_with_keychain(&self.data_dir, Box::new(OsKeychain))?;
        other.master = self.master.clone();
        Ok(other)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The database, for the session records kept beside the engine (`crate::session`).
    #[cfg(unix)]
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    #[cfg(unix)]
    pub(crate) fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(crate::store::DATABASE_FILE)
    }

    /// The keychain account that holds this installation's master key.
    pub fn keychain_account(&self) -> String {
        OsKeychain::account_for(&self.install_id)
    }

    pub fn protection(&self) -> Result<Option<KeyProtection>> {
        keys::protection(self.store.conn())
    }

    pub fn is_unlocked(&self) -> bool {
        self.master.is_some()
    }

    pub fn status(&self) -> Result<Status> {
        let conn = self.store.conn();
        let protection = self.protection()?;
        // One keychain read serves both answers: keychain calls are slow and may prompt.
        let (keychain, key_is_current) = match self.keychain.load(&self.keychain_account()) {
            Ok(key) => (
                KeychainStatus::Available {
                    has_key: key.is_some(),
                },
                match &key {
                    Some(key) => keys::is_current_key(conn, key)?,
                    None => false,
                },
            ),
            Err(KeychainError::Locked(detail)) => (KeychainStatus::Locked { detail }, true),
            Err(KeychainError::Unavailable(detail)) => {
                (KeychainStatus::Unavailable { detail }, true)
            }
        };
        // Only a reachable keychain without the right key means recovery; an
        // unreachable one may simply be locked or not started yet.
        let recovery_needed = protection == Some(KeyProtection::Keychain) && !key_is_current;
        Ok(Status {
            data_dir: self.data_dir.clone(),
            keychain_account: self.keychain_account(),
            initialized: protection.is_some(),
            protection,
            keychain,
            unlocked: self.master.is_some(),
            recovery_needed,
            active_environment: self.active_environment()?,
            vaults: vaults::count(conn)?,
            credentials: credentials::count(conn)?,
            schema_version: migrations::current_version(conn)?,
        })
    }

    // ----- keys ---------------------------------------------------------

    /// First setup: makes the master key and returns the recovery key, which
    /// the caller must show to the user exactly once.
    pub fn initialize(&mut self, how: SetupProtection) -> Result<RecoveryKey> {
        let tx = self.store.write()?;
        let (master, recovery) = keys::set_up(&tx, self.keychain.as_ref(), &self.install_id, &how)?;
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
        self.master = Some(master);
        Ok(recovery)
    }

    /// Unlocks with the keychain. Fails with `RecoveryNeeded` (never makes a
    /// new key) when the keychain lost or changed the key.
    pub fn unlock(&mut self) -> Result<()> {
        if self.master.is_some() {
            return Ok(());
        }
        match self.protection()? {
            None => Err(Error::NotInitialized),
            Some(KeyProtection::Passphrase) => Err(Error::PassphraseRequired),
            Some(KeyProtection::Keychain) => {
                let key = keys::unlock_from_keychain(
                    self.store.conn(),
                    self.keychain.as_ref(),
                    &self.install_id,
                )?;
                self.master = Some(key);
                Ok(())
            }
        }
    }

    pub fn unlock_with_passphrase(&mut self, passphrase: &UserSecret) -> Result<()> {
        if self.protection()?.is_none() {
            return Err(Error::NotInitialized);
        }
        let key = keys::unlock_with_passphrase(self.store.conn(), &self.install_id, passphrase)?;
        self.master = Some(key);
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
        let key = keys::recover(
            &tx,
            self.keychain.as_ref(),
            &self.install_id,
            recovery,
            &new_protection,
        )
        .inspect_err(|error| tracing::warn!(code = %error.code(), "recovery failed"))?;
        events::insert(
            &tx,
            &NewEvent {
                ..NewEvent::new(EventKind::KeyRecovered)
            },
        )?;
        tx.commit()?;
        tracing::info!("master key recovered");
        self.master = Some(key);
        Ok(())
    }

    /// Makes a new recovery key; the previous one stops working.
    pub fn regenerate_recovery_key(&mut self) -> Result<RecoveryKey> {
        self.unlock_if_possible()?;
        let master = self.master.clone().ok_or(Error::PassphraseRequired)?;
        let tx = self.store.write()?;
        let recovery = keys::store_recovery_wrap(&tx, &self.install_id, &master)?;
        events::insert(
            &tx,
            &NewEvent {
                ..NewEvent::new(EventKind::RecoveryKeyRegenerated)
            },
        )?;
        tx.commit()?;
        Ok(recovery)
    }

    fn unlock_if_possible(&mut self) -> Result<()> {
        if self.master.is_none() {
            self.unlock()?;
        }
        Ok(())
    }

    fn master_key(&mut self) -> Result<MasterKey> {
        self.unlock_if_possible()?;
        self.master.clone().ok_or(Error::PassphraseRequired)
    }

    // ----- environments -------------------------------------------------

    pub fn environments(&self) -> Result<Vec<Environment>> {
        environments::list(self.store.conn())
    }

    pub fn create_environment(&mut self, name: &str, colour: &str) -> Result<Environment> {
        let name = validate_environment_name(name)?;
        let colour = validate_colour(colour)?;
        let tx = self.store.write()?;
        if environments::get(&tx, &name)?.is_some() {
            return Err(Error::DuplicateEnvironment(name));
        }
        environments::insert(&tx, &name, &colour, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&name),
                ..NewEvent::new(EventKind::EnvironmentCreated)
            },
        )?;
        let created =
            environments::get(&tx, &name)?.ok_or_else(|| Error::not_found("environment", &name))?;
        tx.commit()?;
        Ok(created)
    }

    pub fn active_environment(&self) -> Result<String> {
        Ok(meta::get_text(self.store.conn(), meta::ACTIVE_ENVIRONMENT)?
            .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()))
    }

    pub fn set_active_environment(&mut self, name: &str) -> Result<()> {
        let name = self.existing_environment(name)?;
        meta::set(self.store.conn(), meta::ACTIVE_ENVIRONMENT, name.as_bytes())
    }

    fn existing_environment(&self, name: &str) -> Result<String> {
        let wanted = name.trim().to_ascii_lowercase();
        environments::get(self.store.conn(), &wanted)?
            .map(|environment| environment.name)
            .ok_or_else(|| Error::not_found("environment", name.trim()))
    }

    // ----- vaults -------------------------------------------------------

    /// Creates a vault, optionally with its first credentials, in one transaction.
    pub fn create_vault(
        &mut self,
        display_name: &str,
        environment: &str,
        initial: Vec<NewCredential>,
    ) -> Result<Vault> {
        let display_name = validate_name("display_name", display_name)?;
        let environment = self.existing_environment(environment)?;
        let master = if initial.is_empty() {
            None
        } else {
            Some(self.master_key()?)
        };
        let now = Timestamp::now();
        let vault = Vault {
            id: new_id("vlt"),
            display_name,
            environment,
            created_at: now,
            updated_at: now,
            credential_count: 0,
            last_used_at: None,
        };
        let tx = self.store.write()?;
        refuse_taken_name(&tx, &vault.environment, &vault.display_name, None)?;
        vaults::insert(&tx, &vault)?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                ..NewEvent::new(EventKind::VaultCreated)
            },
        )?;
        if let Some(master) = &master {
            for new in initial {
                insert_credential(&tx, master, &vault, new)?;
            }
        }
        let created = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        tracing::info!(vault_id = %created.id, environment = %created.environment, "vault created");
        Ok(created)
    }

    pub fn vaults(&self, environment: Option<&str>) -> Result<Vec<Vault>> {
        let environment = environment
            .map(|name| self.existing_environment(name))
            .transpose()?;
        vaults::list(self.store.conn(), environment.as_deref())
    }

    /// Finds a vault by id (`vlt_…`) or by its exact display name.
    pub fn vault(&self, id_or_name: &str) -> Result<Vault> {
        let key = id_or_name.trim();
        if key.starts_with("vlt_") {
            return vaults::get(self.store.conn(), key);
        }
        let mut matches = vaults::find_by_name(self.store.conn(), key)?;
        match matches.len() {
            0 => Err(Error::not_found("vault", key)),
            1 => Ok(matches.remove(0)),
            _ => Err(Error::AmbiguousName(key.to_string())),
        }
    }

    pub fn rename_vault(&mut self, id_or_name: &str, new_name: &str) -> Result<Vault> {
        let new_name = validate_name("display_name", new_name)?;
        let vault = self.vault(id_or_name)?;
        let tx = self.store.write()?;
        refuse_taken_name(&tx, &vault.environment, &new_name, Some(&vault.id))?;
        vaults::rename(&tx, &vault.id, &new_name, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                ..NewEvent::new(EventKind::VaultRenamed)
            },
        )?;
        let renamed = vaults::get(&tx, &vault.id)?;
        tx.commit()?;
        Ok(renamed)
    }

    /// Deletes a vault and all its credentials. Returns what was deleted.
    pub fn delete_vault(&mut self, id_or_name: &str) -> Result<Vault> {
        let vault = self.vault(id_or_name)?;
        let tx = self.store.write()?;
        vaults::delete(&tx, &vault.id)?;
        let detail = format!("{} credential(s) deleted with it", vault.credential_count);
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::VaultDeleted)
            },
        )?;
        tx.commit()?;
        tracing::info!(vault_id = %vault.id, "vault deleted");
        Ok(vault)
    }

    // ----- credentials --------------------------------------------------

    pub fn add_credential(&mut self, vault: &str, new: NewCredential) -> Result<Credential> {
        let vault = self.vault(vault)?;
        let master = self.master_key()?;
        let tx = self.store.write()?;
        let credential = insert_credential(&tx, &master, &vault, new)?;
        vaults::touch(&tx, &vault.id, credential.created_at)?;
        tx.commit()?;
        tracing::info!(credential_id = %credential.id, vault_id = %vault.id, "credential added");
        Ok(credential)
    }

    pub fn credentials(&self, vault: &str) -> Result<Vec<Credential>> {
        let vault = self.vault(vault)?;
        credentials::list(self.store.conn(), &vault.id)
    }

    pub fn credential(&self, id: &str) -> Result<Credential> {
        credentials::get(self.store.conn(), id.trim())
    }

    pub fn delete_credential(&mut self, id: &str) -> Result<Credential> {
        let tx = self.store.write()?;
        let credential = credentials::get(&tx, id.trim())?;
        credentials::delete(&tx, &credential.id)?;
        let environment = vaults::get(&tx, &credential.vault_id)?.environment;
        vaults::touch(&tx, &credential.vault_id, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&environment),
                vault_id: Some(&credential.vault_id),
                credential_id: Some(&credential.id),
                upstream_url: Some(&credential.mcp_server_url),
                ..NewEvent::new(EventKind::CredentialDeleted)
            },
        )?;
        tx.commit()?;
        tracing::info!(credential_id = %credential.id, "credential deleted");
        Ok(credential)
    }

    /// Rotation: deletes the credential and creates a new one for the same
    /// server with the new token, in one transaction. Returns the new credential.
    pub fn replace_token(&mut self, id: &str, token: AccessToken) -> Result<Credential> {
        let master = self.master_key()?;
        let tx = self.store.write()?;
        let old = credentials::get(&tx, id.trim())?;
        let vault = vaults::get(&tx, &old.vault_id)?;
        credentials::delete(&tx, &old.id)?;
        let new = insert_credential(
            &tx,
            &master,
            &vault,
            NewCredential {
                mcp_server_url: old.mcp_server_url.clone(),
                protocol: Some(old.protocol),
                access_token: token,
            },
        )?;
        vaults::touch(&tx, &vault.id, new.created_at)?;
        let detail = format!("replaces {}", old.id);
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&vault.environment),
                vault_id: Some(&vault.id),
                credential_id: Some(&new.id),
                upstream_url: Some(&new.mcp_server_url),
                detail: Some(&detail),
                ..NewEvent::new(EventKind::CredentialReplaced)
            },
        )?;
        tx.commit()?;
        tracing::info!(old = %old.id, new = %new.id, "token replaced");
        Ok(new)
    }

    /// Opens every stored token (of one vault, or all) to prove it is intact,
    /// without revealing any.
    pub fn check_credentials(&mut self, vault: Option<&str>) -> Result<Vec<CredentialCheck>> {
        let vault_id = vault.map(|v| self.vault(v)).transpose()?.map(|v| v.id);
        let master = self.master_key()?;
        let ids = credentials::all_ids(self.store.conn(), vault_id.as_deref())?;
        let mut checks = Vec::with_capacity(ids.len());
        for id in ids {
            let (credential, sealed) = credentials::get_sealed(self.store.conn(), &id)?;
            let error = open_token(&master, &credential, &sealed).err();
            if let Some(error) = &error {
                tracing::warn!(credential_id = %id, code = %error.code(), "stored token failed its integrity check");
            }
            checks.push(CredentialCheck {
                credential_id: credential.id,
                mcp_server_url: credential.mcp_server_url,
                ok: error.is_none(),
                error,
            });
        }
        Ok(checks)
    }

    /// Tests a saved credential against its server, without revealing the token.
    pub fn test_saved_credential(&mut self, id: &str) -> Result<ConnectionTest> {
        let master = self.master_key()?;
        let (credential, sealed) = credentials::get_sealed(self.store.conn(), id.trim())?;
        let token = open_token(&master, &credential, &sealed)?;
        let result = crate::probe::probe(&credential.mcp_server_url, credential.protocol, &token);
        drop(token);
        let environment = vaults::get(self.store.conn(), &credential.vault_id)?.environment;
        let outcome = serde_json::to_value(result.outcome)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default();
        events::insert(
            self.store.conn(),
            &NewEvent {
                environment: Some(&environment),
                vault_id: Some(&credential.vault_id),
                credential_id: Some(&credential.id),
                upstream_url: Some(&credential.mcp_server_url),
                status: result.http_status.map(i64::from),
                detail: Some(&outcome),
                ..NewEvent::new(EventKind::CredentialTested)
            },
        )?;
        Ok(result)
    }

    // ----- resolution ---------------------------------------------------

    /// The single environment shared by `vault_ids`, or a clear refusal.
    pub fn session_environment(&self, vault_ids: &[String]) -> Result<String> {
        let mut first: Option<Vault> = None;
        for id in vault_ids {
            let vault = self.vault(id)?;
            match &first {
                None => first = Some(vault),
                Some(seen) if seen.environment != vault.environment => {
                    return Err(Error::MixedEnvironments {
                        first: seen.display_name.clone(),
                        first_env: seen.environment.clone(),
                        second: vault.display_name,
                        second_env: vault.environment,
                    })
                }
                Some(_) => {}
            }
        }
        first
            .map(|vault| vault.environment)
            .ok_or_else(|| Error::invalid("vault_ids", "Pick at least one vault."))
    }

    /// Which credential a session with these vaults (in this order) would use
    /// for `url`: the first vault that has one wins.
    pub fn resolve(&self, vault_ids: &[String], url: &str) -> Result<Option<Resolution>> {
        self.session_environment(vault_ids)?;
        let url = normalize_server_url(url)?;
        let mut winner: Option<Resolution> = None;
        for (position, id) in vault_ids.iter().enumerate() {
            let vault = self.vault(id)?;
            if let Some(credential) = credentials::find_by_url(self.store.conn(), &vault.id, &url)?
            {
                match &mut winner {
                    None => {
                        winner = Some(Resolution {
                            credential,
                            vault_position: position,
                            shadowed_credential_ids: Vec::new(),
                        })
                    }
                    Some(found) => found.shadowed_credential_ids.push(credential.id),
                }
            }
        }
        Ok(winner)
    }

    /// For the injecting proxy only: resolves like [`Engine::resolve`] and
    /// opens the winning token.
    pub fn resolve_for_injection(
        &mut self,
        vault_ids: &[String],
        url: &str,
    ) -> Result<Option<Injection>> {
        let Some(resolution) = self.resolve(vault_ids, url)? else {
            return Ok(None);
        };
        let master = self.master_key()?;
        let (credential, sealed) =
            credentials::get_sealed(self.store.conn(), &resolution.credential.id)?;
        let token = open_token(&master, &credential, &sealed)?;
        Ok(Some(Injection {
            resolution,
            token: InjectableToken(token),
        }))
    }

    /// For the injecting proxy, on every request: like
    /// [`Engine::resolve_for_injection`], answered from a cache of opened
    /// tokens that is dropped whenever the database changed since the last
    /// call, whoever changed it (this engine, another connection, the CLI).
    /// A hit costs one `PRAGMA data_version` and a map lookup.
    ///
    /// Pass the same spelling of `url` each time (the proxy passes the
    /// normalised credential URL); the cache is keyed by it as given.
    pub fn cached_injection(
        &mut self,
        vault_ids: &[String],
        url: &str,
    ) -> Result<Option<Arc<Injection>>> {
        let before = self.store.stamp()?;
        self.injections.validate(before);
        let key = injection_cache::key(vault_ids, url);
        if let Some(answer) = self.injections.get(&key) {
            return Ok(answer);
        }
        let answer = self.resolve_for_injection(vault_ids, url)?.map(Arc::new);
        // Cache the answer only if nothing was committed while it was being
        // read; otherwise it may mix old and new rows. It is fresh enough to
        // serve this one request either way.
        let after = self.store.stamp()?;
        if after == before {
            self.injections.insert(key, answer.clone());
        }
        Ok(answer)
    }

    /// Drops every cached opened token (they are zeroised once no request
    /// holds them any more). The proxy calls this when a session stops.
    pub fn forget_cached_tokens(&mut self) {
        self.injections.clear();
    }

    /// Records a batch of proxied uses in one transaction (audit events and
    /// "last used"), without invalidating the token cache: the audit trail
    /// cannot change what a URL resolves to. The proxy itself writes through
    /// a [`UsageRecorder`] instead, so an audit commit never holds the engine.
    pub fn record_credential_uses(&mut self, uses: &[CredentialUse]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let before = self.store.stamp()?;
        let tx = self.store.write()?;
        usage::insert(&tx, uses)?;
        tx.commit()?;
        let after = self.store.stamp()?;
        self.injections.carry_over(before, after);
        Ok(())
    }

    /// A second connection to this data folder that only records credential
    /// uses: its commits (and their fsync) never wait for, or block, this
    /// engine. Each of its commits makes this engine's token cache reload
    /// once, as any other connection's would.
    pub fn usage_recorder(&self) -> Result<UsageRecorder> {
        UsageRecorder::open(&self.data_dir)
    }

    /// Records that a session used a credential (audit + "last used").
    pub fn record_credential_use(
        &mut self,
        credential_id: &str,
        session_id: Option<&str>,
        method: Option<&str>,
        status: Option<i64>,
    ) -> Result<()> {
        let tx = self.store.write()?;
        let credential = credentials::get(&tx, credential_id)?;
        let environment = vaults::get(&tx, &credential.vault_id)?.environment;
        credentials::mark_used(&tx, &credential.id, Timestamp::now())?;
        events::insert(
            &tx,
            &NewEvent {
                environment: Some(&environment),
                vault_id: Some(&credential.vault_id),
                credential_id: Some(&credential.id),
                session_id,
                upstream_url: Some(&credential.mcp_server_url),
                method,
                status,
                ..NewEvent::new(EventKind::CredentialUsed)
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    // ----- audit --------------------------------------------------------

    pub fn events(&self, vault: Option<&str>, limit: u32) -> Result<Vec<Event>> {
        // A deleted vault's history is still listed by its id.
        let vault_id = vault.map(|v| {
            self.vault(v)
                .map(|v| v.id)
                .unwrap_or_else(|_| v.trim().to_string())
        });
        events::list(self.store.conn(), vault_id.as_deref(), limit)
    }
}

/// One name per environment: two vaults named alike would make every
/// by-name command ambiguous. Checked inside the write transaction, which
/// holds the database's write lock, so two processes cannot both pass.
fn refuse_taken_name(
    conn: &rusqlite::Connection,
    environment: &str,
    name: &str,
    except: Option<&str>,
) -> Result<()> {
    if vaults::name_taken(conn, environment, name, except)? {
        return Err(Error::DuplicateVault {
            name: name.to_string(),
            environment: environment.to_string(),
        });
    }
    Ok(())
}

fn insert_credential(
    conn: &rusqlite::Connection,
    master: &MasterKey,
    vault: &Vault,
    new: NewCredential,
) -> Result<Credential> {
    let url = normalize_server_url(&new.mcp_server_url)?;
    if credentials::find_by_url(conn, &vault.id, &url)?.is_some() {
        return Err(Error::DuplicateUrl { url });
    }
    let credential = Credential {
        id: new_id("cred"),
        vault_id: vault.id.clone(),
        protocol: new.protocol.unwrap_or_else(|| guess_protocol(&url)),
        mcp_server_url: url,
        credential_type: CredentialType::StaticBearer,
        created_at: Timestamp::now(),
        last_used_at: None,
    };
    let aad = crypto::credential_aad(
        &credential.id,
        &credential.vault_id,
        &credential.mcp_server_url,
    );
    let sealed = crypto::seal(
        master.as_bytes(),
        new.access_token.expose().as_bytes(),
        &aad,
    )?;
    credentials::insert(conn, &credential, &sealed)?;
    events::insert(
        conn,
        &NewEvent {
            environment: Some(&vault.environment),
            vault_id: Some(&vault.id),
            credential_id: Some(&credential.id),
            upstream_url: Some(&credential.mcp_server_url),
            ..NewEvent::new(EventKind::CredentialCreated)
        },
    )?;
    Ok(credential)
}

fn open_token(master: &MasterKey, credential: &Credential, sealed: &[u8]) -> Result<AccessToken> {
    let integrity = || Error::Integrity {
        credential_id: credential.id.clone(),
    };
    let aad = crypto::credential_aad(
        &credential.id,
        &credential.vault_id,
        &credential.mcp_server_url,
    );
    let plain = crypto::open(master.as_bytes(), sealed, &aad).map_err(|_| integrity())?;
    let text = std::str::from_utf8(plain.expose_secret()).map_err(|_| integrity())?;
    AccessToken::new(text.to_string()).map_err(|_| integrity())
}
