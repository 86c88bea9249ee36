//! The credential source of a session or an app connection whose vaults
//! include team vaults (docs/architecture.md, "Team vaults"): the proxy and
//! the bridge still ask one `CredentialSource` and never learn where a
//! token lives.
//!
//! A session: its local vaults are the tokens part's, its team vaults a
//! [`TeamSource`] of the session's environment (one per session, made from
//! the saved sign-ins; a server out of reach is no obstacle while its last
//! good values are young enough), joined by a [`Routed`] source in the
//! session's order. The servers to configure are the local vaults' and
//! those in the team vaults' folders (while a server is out of reach,
//! those it last confirmed), each looked up once through that source, so a
//! session that could not use a credential does not start.
//!
//! An app connection: its vaults are read at each request (a change of
//! them counts at once, as for local vaults). Its team part is made for
//! the team vaults the connection has, and made again (from a fresh engine
//! on the same data folder: the bridge's own is not `Sync`) at the first
//! request after they changed — a team vault added to a connection is used
//! by the bridge already running, whose app may never restart it when its
//! entry for that server stays the same.
//!
//! The last good values are kept sealed in the database
//! ([`keybearer_vault::TeamLastGood`]) through [`SealedLastGood`], so a
//! bridge (a new process each time an app starts one) or a session started
//! while the server is out of reach can use them; those older than their
//! server's last-good limit are removed whenever a source is made, the
//! server's all at sign-out (`servers::sign_out`), a vault's with it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keybearer_base::error::{Error, Result};
use keybearer_base::team_error::TeamError;
use keybearer_source::{CredentialSource, Injection, Routed, Scope};
use keybearer_team::{Kept, LastGoodStore, TeamServer, TeamSource, VAULT_ID_PREFIX};
use keybearer_vault::{Engine, Protocol, Resolution, TeamLastGood, Timestamp, Tokens, Vault};

use crate::servers::settings_of;
use crate::vaults::team_vault;

/// The last good values sealed in the database with the master key.
pub struct SealedLastGood(pub TeamLastGood);

fn stamp(at: SystemTime) -> Timestamp {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

impl LastGoodStore for SealedLastGood {
    fn keep(
        &self,
        vault_id: &str,
        url: &str,
        version: u64,
        confirmed_at: SystemTime,
        value: &[u8],
    ) -> Result<()> {
        self.0
            .keep(vault_id, url, version, stamp(confirmed_at), value)
    }

    fn confirm(&self, vault_id: &str, url: &str, version: u64, at: SystemTime) -> Result<()> {
        self.0
            .confirm(vault_id, url, version, stamp(at))
            .map(|_| ())
    }

    fn recall(&self, vault_id: &str, url: &str) -> Result<Option<Kept>> {
        Ok(self.0.recall(vault_id, url)?.map(|opened| Kept {
            version: opened.version,
            confirmed_at: UNIX_EPOCH
                + Duration::from_millis(u64::try_from(opened.confirmed_at.0).unwrap_or(0)),
            value: opened.value,
        }))
    }

    fn forget(&self, vault_id: &str, url: &str) -> Result<()> {
        self.0.forget(vault_id, url)
    }

    fn server_unreachable(&self, server_id: &str, at: SystemTime) -> Result<()> {
        self.0.server_unreachable(server_id, stamp(at))
    }

    fn server_reachable(&self, server_id: &str) -> Result<()> {
        self.0.server_reachable(server_id)
    }
}

/// A session's source and the servers to configure.
pub struct SessionSources {
    pub source: Arc<dyn CredentialSource>,
    /// Each server the vaults cover, with the protocol of the credential
    /// that wins for it, in the vaults' order.
    pub servers: Vec<(String, Protocol)>,
}

/// The team vaults among `vaults`, as a team source of `environment` with
/// the saved sign-ins of their servers (one client per server).
fn team_source(
    engine: &mut Engine,
    vaults: &[Vault],
    environment: &str,
) -> Result<(TeamSource, Vec<(TeamServer, Vault)>)> {
    let kept = Arc::new(SealedLastGood(engine.team_last_good()?));
    let mut source = TeamSource::new(environment)?.with_last_good(kept);
    let mut servers: HashMap<String, TeamServer> = HashMap::new();
    let mut members = Vec::new();
    for vault in vaults {
        let Some(team) = &vault.team else {
            continue;
        };
        let server = match servers.get(&team.server_id) {
            Some(server) => server.clone(),
            None => {
                let record = engine.team_catalog().server(&team.server_id)?;
                // Values too old to be used are not kept any longer.
                let limit = Duration::from_secs(record.last_good_secs);
                let before = stamp(SystemTime::now().checked_sub(limit).unwrap_or(UNIX_EPOCH));
                engine
                    .team_catalog()
                    .forget_last_good(&record.id, Some(before))?;
                let server = TeamServer::resume_or_offline(settings_of(&record)?)?;
                servers.insert(team.server_id.clone(), server.clone());
                server
            }
        };
        source = source.with_vault(&server, team_vault(vault)?)?;
        members.push((server, vault.clone()));
    }
    Ok((source, members))
}

/// The source for a session of `vault_ids` (checked, in order) and the
/// servers it covers.
pub fn for_session(engine: &mut Engine, vault_ids: &[String]) -> Result<SessionSources> {
    let resolver = engine.resolver();
    let vaults = vault_ids
        .iter()
        .map(|id| resolver.vault(id))
        .collect::<Result<Vec<_>>>()?;
    let local_ids: Vec<String> = vaults
        .iter()
        .filter(|vault| vault.team.is_none())
        .map(|vault| vault.id.clone())
        .collect();
    if local_ids.len() == vaults.len() {
        let mut servers = Vec::new();
        for url in resolver.server_urls(vault_ids)? {
            let resolution = resolver
                .resolve(vault_ids, &url)?
                .ok_or_else(|| Error::not_found("credential", url.clone()))?;
            servers.push((url, resolution.credential.protocol));
        }
        return Ok(SessionSources {
            source: Arc::new(engine.tokens()?),
            servers,
        });
    }
    let environment = resolver.environment_of(vault_ids)?;
    let mut urls = if local_ids.is_empty() {
        Vec::new()
    } else {
        resolver.server_urls(&local_ids)?
    };
    let (team, members) = team_source(engine, &vaults, &environment)?;
    let kept = engine.team_last_good()?;
    for (server, vault) in &members {
        for url in team_urls(server, vault, &kept)? {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    let source: Arc<dyn CredentialSource> =
        Arc::new(Routed::new(Arc::new(engine.tokens()?)).route(VAULT_ID_PREFIX, Arc::new(team)));
    let mut servers = Vec::new();
    for url in urls {
        if let Some(found) = source.lookup(Scope::Vaults(vault_ids), &url)? {
            servers.push((url, found.resolution.credential.protocol));
        }
    }
    Ok(SessionSources { source, servers })
}

/// What a session of `vault_ids` would reach: for each server, the
/// credential that wins (a team vault's as its server has it now). Local
/// vaults alone: the resolver's coverage, with the credentials each
/// winner shadows.
pub fn coverage(engine: &mut Engine, vault_ids: &[String]) -> Result<Vec<Resolution>> {
    let resolver = engine.resolver();
    let team = vault_ids
        .iter()
        .map(|id| resolver.vault(id))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .any(|vault| vault.team.is_some());
    if !team {
        return resolver.coverage(vault_ids);
    }
    let sources = for_session(engine, vault_ids)?;
    let mut covered = Vec::new();
    for (url, _) in &sources.servers {
        if let Some(found) = sources.source.lookup(Scope::Vaults(vault_ids), url)? {
            covered.push(found.resolution.clone());
        }
    }
    Ok(covered)
}

/// The servers `vault_ids` cover (local and team vaults, in order, each
/// once): what an app connection gets an entry for. A team vault whose
/// server is out of reach counts the servers it last confirmed.
pub fn server_urls(engine: &mut Engine, vault_ids: &[String]) -> Result<Vec<String>> {
    let resolver = engine.resolver();
    let vaults = vault_ids
        .iter()
        .map(|id| resolver.vault(id))
        .collect::<Result<Vec<_>>>()?;
    let mut urls = resolver.server_urls(vault_ids)?;
    if vaults.iter().all(|vault| vault.team.is_none()) {
        return Ok(urls);
    }
    let kept = engine.team_last_good()?;
    for vault in vaults.iter().filter(|vault| vault.team.is_some()) {
        let (server, _, _) = crate::vaults::connect_offline(engine, vault)?;
        for url in team_urls(&server, vault, &kept)? {
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
    }
    Ok(urls)
}

/// The servers a team vault's folder holds credentials for; while its
/// server is out of reach, those it confirmed within its last-good limit.
fn team_urls(server: &TeamServer, vault: &Vault, kept: &TeamLastGood) -> Result<Vec<String>> {
    match server.credentials(&team_vault(vault)?) {
        Ok(found) => Ok(found.into_iter().map(|credential| credential.url).collect()),
        Err(Error::Team(error)) if error.is_unreachable() => {
            let limit = server.settings().last_good_limit();
            let since = stamp(SystemTime::now().checked_sub(limit).unwrap_or(UNIX_EPOCH));
            tracing::warn!(vault_id = %vault.id, "team server out of reach: the servers it last confirmed are configured");
            kept.urls(&vault.id, since)
        }
        Err(other) => Err(other),
    }
}

/// An app connection's source: the tokens part alone while the connection
/// has no team vault; a routed source for the team vaults it has now.
struct ConnectionSource {
    tokens: Tokens,
    data_dir: PathBuf,
    /// The team vaults the routed part was made for, and that part.
    team: Mutex<Option<(Vec<String>, Arc<Routed>)>>,
    /// The last making of it that a team server refused (a sign-in past its
    /// lifetime, a folder gone), for [`REMAKE_AFTER_REFUSAL`]: requests
    /// meanwhile get the same answer without asking the server again.
    refused: Mutex<Option<(Vec<String>, Instant, TeamError)>>,
}

/// How long a connection source keeps a team server's refusal before it
/// asks again.
const REMAKE_AFTER_REFUSAL: Duration = Duration::from_secs(5);

impl ConnectionSource {
    /// The routed part for the connection's team vaults `team_ids`, made
    /// again when they differ from the ones it was made for.
    fn routed(&self, connection_id: &str, team_ids: Vec<String>) -> Result<Arc<Routed>> {
        let mut team = self.team.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((made_for, routed)) = team.as_ref() {
            if *made_for == team_ids {
                return Ok(routed.clone());
            }
        }
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((ids, at, error)) = refused.as_ref() {
            if *ids == team_ids && at.elapsed() < REMAKE_AFTER_REFUSAL {
                return Err(Error::Team(error.clone()));
            }
        }
        let routed = match self.make(connection_id, &team_ids) {
            Ok(routed) => Arc::new(routed),
            Err(Error::Team(error)) => {
                *refused = Some((team_ids, Instant::now(), error.clone()));
                return Err(Error::Team(error));
            }
            Err(other) => return Err(other),
        };
        *refused = None;
        *team = Some((team_ids, routed.clone()));
        Ok(routed)
    }

    /// The routed part for `team_ids`, made from a fresh engine.
    fn make(&self, connection_id: &str, team_ids: &[String]) -> Result<Routed> {
        let mut engine = Engine::open(&self.data_dir)?;
        let connection = engine.connections().get(connection_id)?;
        let resolver = engine.resolver();
        let vaults = team_ids
            .iter()
            .map(|id| resolver.vault(id))
            .collect::<Result<Vec<_>>>()?;
        let (source, _) = team_source(&mut engine, &vaults, &connection.environment)?;
        Ok(Routed::new(Arc::new(self.tokens.clone())).route(VAULT_ID_PREFIX, Arc::new(source)))
    }

    /// The routed part as last made, if any.
    fn current(&self) -> Option<Arc<Routed>> {
        let team = self.team.lock().unwrap_or_else(PoisonError::into_inner);
        team.as_ref().map(|(_, routed)| routed.clone())
    }
}

impl CredentialSource for ConnectionSource {
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
        let Scope::Connection(connection_id) = scope else {
            return match self.current() {
                Some(routed) => routed.lookup(scope, url),
                None => CredentialSource::lookup(&self.tokens, scope, url),
            };
        };
        let Some(vault_ids) = self.tokens.connection_vaults(connection_id)? else {
            return Err(Error::not_found("connection", connection_id));
        };
        let team_ids: Vec<String> = vault_ids
            .iter()
            .filter(|id| id.starts_with(VAULT_ID_PREFIX))
            .cloned()
            .collect();
        if team_ids.is_empty() {
            // Local vaults only: the tokens part, with the vaults just read.
            if vault_ids.is_empty() {
                return Ok(None); // its vaults were all deleted
            }
            return Tokens::lookup(&self.tokens, &vault_ids, url);
        }
        self.routed(connection_id, team_ids)?
            .lookup(Scope::Vaults(&vault_ids), url)
    }

    fn refused(&self, injection: &Injection) -> Result<()> {
        match self.current() {
            Some(routed) => routed.refused(injection),
            None => CredentialSource::refused(&self.tokens, injection),
        }
    }

    fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()> {
        match self.current() {
            Some(routed) => routed.wants_scope(injection, required),
            None => CredentialSource::wants_scope(&self.tokens, injection, required),
        }
    }

    fn settled(&self) -> bool {
        match self.current() {
            Some(routed) => routed.settled(),
            None => CredentialSource::settled(&self.tokens),
        }
    }
}

/// The source an app connection's bridge asks; its team part is made at
/// the first request that needs it (see the module header).
pub fn for_connection(engine: &mut Engine) -> Result<Arc<dyn CredentialSource>> {
    Ok(Arc::new(ConnectionSource {
        tokens: engine.tokens()?,
        data_dir: engine.data_dir().to_path_buf(),
        team: Mutex::new(None),
        refused: Mutex::new(None),
    }))
}
