//! Team vaults as a credential source (docs/architecture.md, "Team
//! vaults"): what the proxy and the bridge ask, through the same narrow
//! `keybearer-source` interface the local store answers.
//!
//! A [`TeamSource`] is made for one environment; a vault of another is
//! refused when it is added (`MixedEnvironments`), and its path on the
//! server is made from the environment, so a production vault can never
//! serve a development session.
//!
//! Per (vault, server address), a cache entry holds what was last read:
//! the injection (headers made once) and the KV version, or "no credential
//! here", or the failure. A lookup answers from it, on the caller's
//! thread, while it is younger than the server's check interval (30 s by
//! default); after that, the first lookup asks the server for the secret's
//! metadata only (`current_version`, deleted or destroyed) and reads the
//! data only when the version moved. One check is in flight per entry:
//! lookups that come meanwhile get what is cached, unless nothing is yet.
//! A 401 from the MCP server (`refused`) checks at once (at most once a
//! second per entry), so a colleague's rotation is used by the request
//! sent again. A deleted secret stops being used at the first check after
//! the deletion.
//!
//! The server out of reach (no answer, a 5xx): the last answer it
//! confirmed is used until the last-good limit (1 hour by default) has
//! passed since that confirmation, then [`TeamError::StaleTooLong`]. Any
//! other answer counts at once: signed out, denied, vault not found.
//!
//! The last good value also outlives the process when the source is given
//! a [`LastGoodStore`] (`last_good.rs`; the wiring's seals it with the local
//! master key in the database): every value the server confirms is kept there (its
//! confirmation time written at most once a minute), and a process whose
//! first check finds the server out of reach uses it, for what is left of
//! the limit since the server last confirmed it. Whatever the server says
//! is gone — deleted, denied, signed out, no such vault — is removed from
//! it at once.
//!
//! Limits: each session's source has its own cache; `vault_position`
//! counts among the team vaults of the lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant, SystemTime};

use keybearer_base::error::{Error, Result};
use keybearer_base::model::{validate_environment_name, Credential, Resolution, Timestamp};
use keybearer_base::team_error::TeamError;
use keybearer_source::{CredentialSource, InjectableToken, Injection, Scope};
use sha2::{Digest, Sha256};

use crate::kv::Meta;
use crate::last_good::LastGoodStore;
use crate::server::TeamServer;
use crate::settings::TeamVault;
use crate::vaults::TeamCredential;

/// A 401 checks the server at once, but not more often than this per entry.
const REFUSAL_CHECK_GAP: Duration = Duration::from_secs(1);
/// A kept value's confirmation time is written at most this often.
const CONFIRM_WRITE_GAP: Duration = Duration::from_secs(60);

/// The team vaults of one environment, read through per-credential caches.
pub struct TeamSource {
    environment: String,
    vaults: HashMap<String, (TeamServer, TeamVault)>,
    entries: Mutex<HashMap<(String, String), Arc<Entry>>>,
    pub(crate) last_good: Option<Arc<dyn LastGoodStore>>,
    /// Whether each server answered at its last check, as told to the
    /// store (`reach.rs`).
    pub(crate) reach: Mutex<HashMap<String, bool>>,
}

#[derive(Default)]
struct Entry {
    /// Held while the server is asked about this entry.
    checking: Mutex<()>,
    state: Mutex<State>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) outcome: Option<Outcome>,
    /// The last time the server was asked.
    attempted: Option<Instant>,
    /// The last time the server confirmed `outcome`.
    pub(crate) confirmed: Option<Instant>,
    /// How old that confirmation already was then (a value recalled from
    /// the [`LastGoodStore`]).
    pub(crate) confirmed_age: Duration,
    /// The last time the confirmation was written to the store.
    persisted: Option<Instant>,
    /// The last check a 401 asked for.
    refusal_check: Option<Instant>,
}

pub(crate) enum Outcome {
    Present {
        injection: Arc<Injection>,
        version: u64,
    },
    /// The vault holds no credential for this address.
    Absent,
    Failed(TeamError),
}

/// What a check found.
enum Checked {
    Same,
    Changed(TeamCredential),
    Absent,
}

impl TeamSource {
    /// A source for sessions of `environment`.
    pub fn new(environment: &str) -> Result<Self> {
        Ok(Self {
            environment: validate_environment_name(environment)?,
            vaults: HashMap::new(),
            entries: Mutex::default(),
            last_good: None,
            reach: Mutex::default(),
        })
    }

    /// Keeps the last good values in `store` too (see the module's header).
    #[must_use]
    pub fn with_last_good(mut self, store: Arc<dyn LastGoodStore>) -> Self {
        self.last_good = Some(store);
        self
    }

    /// Adds a team vault of `server`; one of another environment is refused.
    pub fn with_vault(mut self, server: &TeamServer, vault: TeamVault) -> Result<Self> {
        if vault.environment != self.environment {
            return Err(Error::MixedEnvironments {
                first: "of this session".to_string(),
                first_env: self.environment.clone(),
                second: format!("team vault \"{}\"", vault.name),
                second_env: vault.environment,
            });
        }
        self.vaults
            .insert(vault.id.clone(), (server.clone(), vault));
        Ok(self)
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    fn entry(&self, vault_id: &str, url: &str) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            entries
                .entry((vault_id.to_string(), url.to_string()))
                .or_default(),
        )
    }

    fn lookup_one(
        &self,
        server: &TeamServer,
        vault: &TeamVault,
        position: usize,
        url: &str,
    ) -> Result<Option<Arc<Injection>>> {
        let entry = self.entry(&vault.id, url);
        let settings = server.settings();
        if let Some(answer) = entry.fresh(
            settings.check_interval(),
            settings.last_good_limit(),
            server,
            vault,
        ) {
            return answer;
        }
        let _checking = match entry.checking.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => {
                // Another request is asking the server: what is cached
                // serves meanwhile; with nothing cached, wait for it.
                if entry.state().outcome.is_some() {
                    return entry.answer(settings.last_good_limit(), server, vault);
                }
                let guard = entry
                    .checking
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(answer) = entry.fresh(
                    settings.check_interval(),
                    settings.last_good_limit(),
                    server,
                    vault,
                ) {
                    return answer;
                }
                guard
            }
        };
        self.check(&entry, server, vault, position, url)
    }

    /// Asks the server (the entry's `checking` lock held) and keeps the answer.
    fn check(
        &self,
        entry: &Entry,
        server: &TeamServer,
        vault: &TeamVault,
        position: usize,
        url: &str,
    ) -> Result<Option<Arc<Injection>>> {
        let known_version = match &entry.state().outcome {
            Some(Outcome::Present { version, .. }) => Some(*version),
            _ => None,
        };
        let checked = check_server(server, vault, url, known_version);
        self.note_reach(server, &checked);
        let now = Instant::now();
        let mut state = entry.state();
        state.attempted = Some(now);
        match checked {
            Ok(Checked::Same) => {
                state.confirmed = Some(now);
                state.confirmed_age = Duration::ZERO;
                if let (Some(version), true) = (
                    known_version,
                    state
                        .persisted
                        .is_none_or(|at| at.elapsed() >= CONFIRM_WRITE_GAP),
                ) {
                    state.persisted = Some(now);
                    self.kept(vault, |store| {
                        store.confirm(&vault.id, url, version, SystemTime::now())
                    });
                }
            }
            Ok(Checked::Changed(credential)) => {
                tracing::info!(
                    vault_id = %vault.id,
                    upstream = %url,
                    version = credential.version,
                    "team credential read"
                );
                let version = credential.version;
                if self.last_good.is_some() {
                    let value = credential
                        .secret
                        .to_kv_json(&credential.url, credential.protocol);
                    state.persisted = Some(now);
                    self.kept(vault, |store| {
                        store.keep(&vault.id, url, version, SystemTime::now(), &value)
                    });
                }
                state.outcome = Some(Outcome::Present {
                    injection: injection(server, vault, position, credential),
                    version,
                });
                state.confirmed = Some(now);
                state.confirmed_age = Duration::ZERO;
            }
            Ok(Checked::Absent) => {
                state.outcome = Some(Outcome::Absent);
                state.confirmed = Some(now);
                state.confirmed_age = Duration::ZERO;
                self.kept(vault, |store| store.forget(&vault.id, url));
            }
            Err(Error::Team(error)) => {
                let confirmed = matches!(
                    state.outcome,
                    Some(Outcome::Present { .. } | Outcome::Absent)
                );
                if error.is_unreachable() && confirmed {
                    tracing::warn!(
                        vault_id = %vault.id,
                        code = %error.code(),
                        "team server out of reach: the last credential it confirmed is used"
                    );
                } else if error.is_unreachable()
                    && self.recall(&mut state, server, vault, position, url)
                {
                    tracing::warn!(
                        vault_id = %vault.id,
                        code = %error.code(),
                        "team server out of reach: the last credential it confirmed before is used"
                    );
                } else {
                    tracing::warn!(vault_id = %vault.id, code = %error.code(), "team credential not available");
                    if !error.is_unreachable() {
                        self.kept(vault, |store| store.forget(&vault.id, url));
                    }
                    state.outcome = Some(Outcome::Failed(error));
                }
            }
            // Not the server's answer (a bad address): nothing is kept.
            Err(other) => return Err(other),
        }
        drop(state);
        entry.answer(server.settings().last_good_limit(), server, vault)
    }
}

/// What the server says of `url`'s credential in `vault`: with a version
/// known, its metadata first, and the data only if it moved.
fn check_server(
    server: &TeamServer,
    vault: &TeamVault,
    url: &str,
    known_version: Option<u64>,
) -> Result<Checked> {
    if let Some(known) = known_version {
        let path = server.credential_path(vault, url)?;
        match server.kv_metadata(&path) {
            Ok(Meta::Current {
                version,
                gone: false,
                ..
            }) if version == known => return Ok(Checked::Same),
            // Moved, deleted, or not readable as metadata (a policy that
            // allows reading the data only): the data says.
            Ok(_) | Err(Error::Team(TeamError::Denied { .. })) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(match server.credential(vault, url)? {
        Some(credential) if Some(credential.version) == known_version => Checked::Same,
        Some(credential) => Checked::Changed(credential),
        None => Checked::Absent,
    })
}

impl Entry {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer while it is younger than `interval`.
    fn fresh(
        &self,
        interval: Duration,
        limit: Duration,
        server: &TeamServer,
        vault: &TeamVault,
    ) -> Option<Result<Option<Arc<Injection>>>> {
        let young = {
            let state = self.state();
            state.outcome.is_some() && state.attempted.is_some_and(|at| at.elapsed() < interval)
        };
        young.then(|| self.answer(limit, server, vault))
    }

    /// The cached answer; a value the server has not confirmed within
    /// `limit` is no longer used.
    fn answer(
        &self,
        limit: Duration,
        server: &TeamServer,
        vault: &TeamVault,
    ) -> Result<Option<Arc<Injection>>> {
        let state = self.state();
        let stale = state
            .confirmed
            .is_none_or(|at| at.elapsed() + state.confirmed_age > limit);
        match &state.outcome {
            Some(Outcome::Failed(error)) => Err(Error::Team(error.clone())),
            Some(_) if stale => Err(Error::Team(TeamError::StaleTooLong {
                server: server.address().to_string(),
                path: format!(
                    "{}/",
                    server.shown_path(&server.settings().vault_path(vault))
                ),
                limit,
            })),
            Some(Outcome::Present { injection, .. }) => Ok(Some(Arc::clone(injection))),
            Some(Outcome::Absent) | None => Ok(None),
        }
    }
}

/// A team credential's id on this computer (`tcr_…`): made from its team
/// server's, its vault's and its server address, so the same credential
/// has the same id in every process here (the audit trail, `credential
/// replace ID`). Another computer's ids differ.
pub fn credential_id(server_id: &str, vault_id: &str, url: &str) -> String {
    let digest = Sha256::digest(format!("{server_id}\n{vault_id}\n{url}").as_bytes());
    format!("tcr_{}", &data_encoding::HEXLOWER.encode(&digest)[..24])
}

/// The injection of a team credential: the headers made once; a 401 is
/// reported back (`refused`) so a rotation is looked for at once.
pub(crate) fn injection(
    server: &TeamServer,
    vault: &TeamVault,
    position: usize,
    credential: TeamCredential,
) -> Arc<Injection> {
    let id = credential_id(server.settings().id(), &vault.id, &credential.url);
    let headers = credential.secret.http_headers();
    let resolution = Resolution {
        credential: Credential {
            id,
            vault_id: vault.id.clone(),
            mcp_server_url: credential.url,
            protocol: credential.protocol,
            credential_type: credential.secret.kind(),
            header_names: credential.secret.header_names(),
            needs_sign_in: false,
            wanted_scope: None,
            created_at: Timestamp::now(),
            last_used_at: None,
        },
        vault_position: position,
        shadowed_credential_ids: Vec::new(),
    };
    Arc::new(
        Injection::new(resolution, InjectableToken::new(credential.secret), headers)
            .reporting_refusals(),
    )
}

impl CredentialSource for TeamSource {
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
        // An app connection's vaults are read by the wiring, which asks
        // with them (docs/architecture.md, "Team vaults").
        let Scope::Vaults(vault_ids) = scope else {
            return Ok(None);
        };
        let vaults = vault_ids
            .iter()
            .map(|id| {
                self.vaults
                    .get(id)
                    .ok_or_else(|| Error::not_found("team vault", id.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        for (position, (server, vault)) in vaults.into_iter().enumerate() {
            if let Some(found) = self.lookup_one(server, vault, position, url)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn refused(&self, injection: &Injection) -> Result<()> {
        let vault_id = &injection.ids.vault_id;
        let Some((server, vault)) = self.vaults.get(vault_id) else {
            return Ok(());
        };
        let url = &injection.resolution.credential.mcp_server_url;
        let entry = self.entry(vault_id, url);
        let _checking = entry
            .checking
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        {
            let mut state = entry.state();
            let current = matches!(
                &state.outcome,
                Some(Outcome::Present { injection: cached, .. }) if std::ptr::eq(Arc::as_ptr(cached), injection)
            );
            // Already replaced by a newer version, or checked a moment ago.
            if !current
                || state
                    .refusal_check
                    .is_some_and(|at| at.elapsed() < REFUSAL_CHECK_GAP)
            {
                return Ok(());
            }
            state.refusal_check = Some(Instant::now());
        }
        tracing::debug!(vault_id = %vault_id, "the MCP server refused a team credential: checking for a newer version");
        self.check(
            &entry,
            server,
            vault,
            injection.resolution.vault_position,
            url,
        )
        .map(|_| ())
    }

    /// Team credentials are not OAuth grants: nothing to keep.
    fn wants_scope(&self, _injection: &Injection, _required: &str) -> Result<()> {
        Ok(())
    }
}
