//! The injecting proxy (docs/architecture.md, "Proxy"): the agent never sees a token.
//!
//! For a session and each of its credential URLs, a listener on
//! `127.0.0.1:<ephemeral port>` forwards every request to exactly that
//! credential's upstream origin, path kept. The agent authenticates with a
//! random per-session secret; the proxy checks it in constant time, drops it,
//! adds `Authorization: Bearer <real token>`, sets `Host` to the upstream and
//! streams both ways. The token is looked up on every request by the
//! session's ordered vaults and the credential URL through a
//! `CredentialSource` (`keybearer-source`; the local store's is `Tokens`:
//! its own connections and cache, no engine lock, on the request's own
//! thread; the cache is dropped whenever the database changes), so a
//! replaced token is used from the next request and a deleted one stops
//! working at once. Listeners and connections run on the process's proxy
//! worker threads (`workers`: one single-threaded runtime per core, nginx's
//! model), so a request never waits for another thread to wake up.
//!
//! The crate `keybearer-proxy` (docs/architecture.md, "Crates") depends on
//! nothing else of the engine: a `CredentialSource` to look up, a
//! `UsageSink` to write the audit trail. It must never depend on the store,
//! sessions or OAuth's flows (it reads a 403's `WWW-Authenticate` with
//! OAuth's parser, nothing more).
//!
//! ```no_run
//! # async fn demo(
//! #     source: impl keybearer_source::CredentialSource,
//! #     recorder: impl keybearer_source::UsageSink,
//! # ) -> keybearer_base::Result<()> {
//! use keybearer_proxy::SessionProxy;
//! let proxy = SessionProxy::start(
//!     source,
//!     recorder,
//!     "sesn_123",
//!     vec!["vlt_a".into(), "vlt_b".into()],
//!     vec!["https://mcp.example.com/mcp".into()],
//! )
//! .await?;
//! let listener = &proxy.listeners()[0];
//! // The agent's MCP config: url = listener.local_url,
//! // headers = {"Authorization": "Bearer " + proxy.secret().expose_for_agent_config()}
//! proxy.stop().await;
//! # Ok(()) }
//! ```
//!
//! What reaches the upstream, and only this: GET, POST and DELETE (405
//! otherwise: TRACE would echo the injected header) to the credential's own
//! path, or to a path the upstream itself sent the agent to (a legacy SSE
//! `endpoint` event, a redirect), on the upstream's own origin. Paths that
//! could be read two ways (dot segments, encoded slashes) are refused.
//! Rewrites, and only these: an absolute `endpoint` URL or redirect
//! `Location` on the upstream's own origin is pointed at the listener
//! (relative ones need nothing). Redirects are never followed; an `endpoint`
//! or `Location` naming any other origin is refused (the SSE stream ends,
//! the redirect becomes a 502), so the agent never takes its session secret
//! there. Refusals are logged with rate limiting.
//!
//! Limits, on purpose: HTTP/1.1 on both sides (MCP needs nothing more);
//! `Upgrade` (WebSocket) is stripped like any hop-by-hop header; an
//! `HTTPS_PROXY` must be an `http://` proxy (CONNECT tunnel); the token's
//! copy inside the outgoing header and hyper's write buffer is not zeroised
//! (the tokens part's cached copy and the formatting buffer are). Upstream
//! answers are asked for unencoded (`Accept-Encoding: identity`); one that
//! comes back compressed anyway (and is not empty) is refused, since it
//! could not be checked for the credential repeated back nor, an event
//! stream, for endpoints. Whatever of the credential a server repeats in
//! its answer is covered before the agent sees it (docs/architecture.md,
//! "Echoed secrets"). Forwarding headers from the agent are dropped.
//!
//! Modules: `secret` (the session secret), `headers` (hop-by-hop, Host
//! check), `origin` (upstream → listener URL rewriting), `paths` (where the
//! token may go), `refusals` (rate-limited logging), `sse` (legacy
//! `endpoint` events), `upstream` (TLS client, connect timeout, HTTPS_PROXY),
//! `head` (what a request's head must show, and what goes upstream),
//! `handler` (one request), `pool` (kept-alive upstream connections per
//! worker), `listener` (accept loop), `workers` (the
//! threads everything above runs on), `audit` (`credential.used` and
//! `credential.echoed` events, alike ones counted into one per window),
//! `echo` (the credential covered in an answer's head and body).

mod activity;
mod audit;
mod echo;
#[doc(hidden)]
pub mod fuzzing;
mod handler;
mod head;
mod headers;
mod listener;
mod origin;
mod paths;
mod pool;
#[cfg(test)]
mod properties;
mod refusals;
mod replay;
mod secret;
mod sse;
mod workers;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::HeaderValue;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use activity::{ProxyActivity, ServerActivity};
pub use secret::SessionSecret;

use audit::AuditLog;
use handler::Route;
use keybearer_base::error::{Error, Result};
use keybearer_base::server_url::normalize_server_url;
use keybearer_source::{CredentialSource, Scope, UsageSink};
use origin::OriginMap;
use paths::AllowedPaths;
use pool::UpstreamPool;
use refusals::RefusalLog;
use workers::Workers;

/// How long `stop` waits for the last audit records to be written.
const AUDIT_FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// One credential URL's local listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyListener {
    /// The normalised credential URL this listener forwards to.
    pub upstream_url: String,
    /// What the agent's MCP config points at: `http://127.0.0.1:PORT/<same path>`.
    pub local_url: String,
    pub local_addr: SocketAddr,
}

/// A running session's listeners. Stop it with [`SessionProxy::stop`];
/// dropping it also closes the listeners (without waiting for the audit
/// trail to be written).
pub struct SessionProxy {
    session_id: String,
    secret: Arc<SessionSecret>,
    listeners: Vec<ProxyListener>,
    activity: ProxyActivity,
    /// Each listener's task, and what tells it to stop.
    tasks: Vec<(oneshot::Sender<()>, JoinHandle<()>)>,
    audit: Option<(AuditLog, JoinHandle<()>)>,
}

impl std::fmt::Debug for SessionProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProxy")
            .field("session_id", &self.session_id)
            .field("secret", &self.secret)
            .field("listeners", &self.listeners)
            .finish_non_exhaustive()
    }
}

impl SessionProxy {
    /// Opens one listener per distinct credential URL. Refuses vault sets
    /// that mix environments, and URLs none of the vaults has a credential
    /// for. Opens each token once, so a damaged one is reported now, not at
    /// the first request. The listeners run on the proxy's worker threads,
    /// not the caller's runtime; dropping the proxy (or `stop`) ends them.
    pub async fn start(
        source: impl CredentialSource,
        recorder: impl UsageSink,
        session_id: impl Into<String>,
        vault_ids: Vec<String>,
        urls: Vec<String>,
    ) -> Result<Self> {
        let session_id: String = session_id.into();
        let mut normalized: Vec<String> = Vec::with_capacity(urls.len());
        for url in &urls {
            let url = normalize_server_url(url)?;
            if !normalized.contains(&url) {
                normalized.push(url);
            }
        }
        if normalized.is_empty() {
            return Err(Error::invalid(
                "urls",
                "A proxied session needs at least one MCP server.",
            ));
        }
        let source: Arc<dyn CredentialSource> = Arc::new(source);
        let vault_ids: Arc<[String]> = vault_ids.into();
        for url in &normalized {
            if source.lookup(Scope::Vaults(&vault_ids), url)?.is_none() {
                return Err(Error::NoCredential { url: url.clone() });
            }
        }

        let secret = Arc::new(SessionSecret::generate()?);
        let workers = Workers::get()?;
        let connector = keybearer_net::upstream::connector()?;
        let session_id_shared: Arc<str> = session_id.as_str().into();
        let (audit, audit_task) =
            AuditLog::start(Box::new(recorder), Arc::clone(&session_id_shared), workers);
        let refusals = Arc::new(RefusalLog::default());
        let mut proxy = Self {
            session_id,
            secret: Arc::clone(&secret),
            listeners: Vec::with_capacity(normalized.len()),
            activity: ProxyActivity::default(),
            tasks: Vec::with_capacity(normalized.len()),
            audit: Some((audit.clone(), audit_task)),
        };
        for credential_url in normalized {
            let upstream = url::Url::parse(&credential_url)
                .map_err(|_| Error::invalid("urls", "That address cannot be parsed."))?;
            let (origin, host) = upstream_parts(&upstream)?;
            // On failure `proxy` is dropped, which closes the listeners opened so far.
            let socket = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
            socket.set_nonblocking(true)?;
            let local_addr = socket.local_addr()?;
            let stats = Arc::new(activity::ListenerStats::default());
            let route = Arc::new(Route {
                source: Arc::clone(&source),
                session_id: Arc::clone(&session_id_shared),
                vault_ids: Arc::clone(&vault_ids),
                credential_url: credential_url.as_str().into(),
                upstream_host: host,
                origins: OriginMap::new(&upstream, local_addr.port()),
                paths: Arc::new(AllowedPaths::new(upstream.path())),
                refusals: Arc::clone(&refusals),
                listener_port: local_addr.port(),
                secret: Arc::clone(&secret),
                upstream: Arc::new(UpstreamPool::new(connector.clone(), origin, workers.len())),
                audit: audit.clone(),
                stats: Arc::clone(&stats),
            });
            let (stop, stopped) = oneshot::channel();
            let task = workers.spawn(
                workers.next(),
                listener::serve(socket, route, workers, stopped),
            );
            proxy.tasks.push((stop, task));
            let local_url = format!("http://{local_addr}{}", upstream.path());
            proxy
                .activity
                .0
                .push((credential_url.clone(), local_url.clone(), stats));
            proxy.listeners.push(ProxyListener {
                local_url,
                upstream_url: credential_url,
                local_addr,
            });
        }
        tracing::info!(
            session_id = %proxy.session_id,
            listeners = proxy.listeners.len(),
            "session proxy started"
        );
        Ok(proxy)
    }

    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The secret the agent must send as `Authorization: Bearer <secret>`.
    pub fn secret(&self) -> &SessionSecret {
        &self.secret
    }

    /// Live request counters per server, readable after the proxy is handed off.
    pub fn activity(&self) -> ProxyActivity {
        self.activity.clone()
    }

    pub fn listeners(&self) -> &[ProxyListener] {
        &self.listeners
    }

    /// The local URL that stands for `upstream_url` (any spelling of it).
    pub fn local_url(&self, upstream_url: &str) -> Option<&str> {
        let wanted = normalize_server_url(upstream_url).ok()?;
        self.listeners
            .iter()
            .find(|listener| listener.upstream_url == wanted)
            .map(|listener| listener.local_url.as_str())
    }

    /// Closes every listener and open connection (new connections are
    /// refused once this returns) and writes the remaining audit records.
    /// The session secret and the opened tokens die with it.
    pub async fn stop(mut self) {
        for (stop, task) in self.tasks.drain(..) {
            let _ = stop.send(());
            // Resolves once the socket and every connection are closed.
            let _ = task.await;
        }
        if let Some((audit, writer)) = self.audit.take() {
            drop(audit);
            // The writer ends when the last connection's copy of the log is gone.
            if tokio::time::timeout(AUDIT_FLUSH_LIMIT, writer)
                .await
                .is_err()
            {
                tracing::warn!(session_id = %self.session_id, "audit records still pending at stop");
            }
        }
        tracing::info!(session_id = %self.session_id, "session proxy stopped");
    }
}

impl Drop for SessionProxy {
    fn drop(&mut self) {
        // Dropped without `stop`: the listeners close; the audit writer ends
        // when the last connection's copy of the log is gone.
        for (_, task) in &self.tasks {
            task.abort();
        }
    }
}

/// The origin to connect to (scheme and `host[:port]`, default port left
/// out) and the `Host` value.
fn upstream_parts(upstream: &url::Url) -> Result<(http::Uri, HeaderValue)> {
    let invalid = || Error::invalid("urls", "That server address cannot be used by the proxy.");
    let host = upstream.host_str().ok_or_else(invalid)?;
    let authority = match upstream.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let scheme = Scheme::try_from(upstream.scheme()).map_err(|_| invalid())?;
    let header = HeaderValue::from_str(&authority).map_err(|_| invalid())?;
    let authority = Authority::try_from(authority.as_str()).map_err(|_| invalid())?;
    let origin = http::Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query("/")
        .build()
        .map_err(|_| invalid())?;
    Ok((origin, header))
}
