//! The credential-source seam (docs/architecture.md, "Crates", "A token's
//! path"): what the proxy and the bridge ask for, and all they may ask.
//!
//! A sender (the session proxy, an app's bridge) holds a
//! [`CredentialSource`] and asks it, per request, for the [`Injection`] of a
//! server in its [`Scope`] (a session's vaults in order, or an app
//! connection): the headers to send, which credential and vault they came
//! from (for the audit trail), and the opened secret, opaque to the sender.
//! When the server refuses them (401) or asks for more access (403
//! `insufficient_scope`), the sender tells the source, which renews the
//! grant or keeps the wish for the next sign-in. Uses are written through a
//! [`UsageSink`]. An injection also carries the needles of its headers
//! (`keybearer_base::echo`), made once when the secret is opened, so the
//! sender can keep the server from echoing them to the agent (recorded as
//! an echo, [`UseKind::Echoed`]).
//!
//! Sources: the local store (`keybearer-vault`'s `Tokens`) and team servers
//! (`keybearer-team`'s `TeamSource`); a session whose vaults mix them asks
//! a [`Routed`] source, which hands each vault id to the source its prefix
//! names (`routed.rs`). The senders do not change.
//!
//! Owns: the trait, the injection and use records. Must never depend on the
//! store, OAuth or sessions: a source's internals stay on its side of it.

mod routed;

pub use routed::Routed;

use std::any::Any;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use keybearer_base::echo::Needles;
use keybearer_base::error::Result;
use keybearer_base::model::{CredentialType, Resolution, Timestamp};
use zeroize::Zeroizing;

/// Where a request's credential is looked for.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// A session's vaults, first wins; all of one environment.
    Vaults(&'a [String]),
    /// An app connection's vaults, read at each request (a change of them,
    /// or the connection's removal, counts at once: `NotFound`).
    Connection(&'a str),
}

/// Where credentials come from.
pub trait CredentialSource: Send + Sync + 'static {
    /// The credential for `url` (the normalised credential URL, spelled the
    /// same way each time) in `scope`, ready to send; `None` when the scope
    /// has none. A grant about to expire is renewed first; one that needs a
    /// new sign-in is `Error::SignInRequired`.
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>>;

    /// The server refused what `injection` sent (401) and
    /// [`Injection::reports_refusals`]: renew it if it can be renewed, or
    /// look for a newer one (once, however many requests were refused).
    fn refused(&self, injection: &Injection) -> Result<()>;

    /// The server asked for more access than `injection` has (403
    /// `insufficient_scope` naming `required`): kept for the next sign-in.
    fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()>;

    /// Waits (a bounded time) until no renewal is under way in this
    /// process, so a process about to exit does not lose a rotated refresh
    /// token; false if one still is.
    fn settled(&self) -> bool {
        true
    }
}

/// A shared source is a source: a session's, built once (a `Routed` of
/// local and team vaults), handed to the proxy as it is.
impl<T: CredentialSource + ?Sized> CredentialSource for Arc<T> {
    fn lookup(&self, scope: Scope<'_>, url: &str) -> Result<Option<Arc<Injection>>> {
        (**self).lookup(scope, url)
    }

    fn refused(&self, injection: &Injection) -> Result<()> {
        (**self).refused(injection)
    }

    fn wants_scope(&self, injection: &Injection, required: &str) -> Result<()> {
        (**self).wants_scope(injection, required)
    }

    fn settled(&self) -> bool {
        (**self).settled()
    }
}

/// A source's opened secret, behind the injection: the sender never looks
/// inside; the source finds its own type again with [`InjectableToken::downcast`].
pub trait OpenedSecret: Send + Sync + 'static {
    /// The bearer token, or the first header's value.
    fn expose_for_injection(&self) -> &str;
    /// Each header to send with its value (direct mode writes them into an
    /// agent's config).
    fn pairs(&self) -> Vec<(&str, Zeroizing<String>)>;
    fn as_any(&self) -> &dyn Any;
}

/// A credential's secret ready to be put into a request by the proxy or the
/// bridge, or into a direct-mode agent's config. Nothing that displays, logs
/// or serialises data may call its `expose_*` methods.
pub struct InjectableToken(Box<dyn OpenedSecret>);

impl InjectableToken {
    pub fn new(secret: impl OpenedSecret) -> Self {
        Self(Box::new(secret))
    }

    /// The bearer token, for a bearer credential; for a header credential,
    /// the value of its first header.
    pub fn expose_for_injection(&self) -> &str {
        self.0.expose_for_injection()
    }

    /// Each header name with its value.
    pub fn pairs(&self) -> Vec<(&str, Zeroizing<String>)> {
        self.0.pairs()
    }

    /// The source's own type, for the source.
    pub fn downcast<T: 'static>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }
}

impl std::fmt::Debug for InjectableToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InjectableToken(<redacted>)")
    }
}

/// The credential that wins for a request, with its secret opened.
#[derive(Debug)]
pub struct Injection {
    pub resolution: Resolution,
    pub token: InjectableToken,
    /// The headers, made once when the token is opened and shared by every
    /// request (a reference count each, not a copy of the token each).
    headers: Option<Vec<(HeaderName, HeaderValue)>>,
    /// The credential's and its vault's ids, shared, for the audit trail
    /// (a reference count per request, not two copies).
    pub ids: Arc<CredentialIds>,
    /// What to look for in the answers to requests carrying `headers`.
    echoes: Arc<Needles>,
    /// Whether the sender tells the source when the server refuses these
    /// headers (401): OAuth grants (renewed), team credentials (checked
    /// for a newer version) and the local store's tokens (maybe replaced
    /// meanwhile) ask for it.
    report_refusals: bool,
}

impl Injection {
    /// `headers`: `None` when a stored value cannot be sent in an HTTP
    /// header (the sender then says so instead of sending).
    pub fn new(
        resolution: Resolution,
        token: InjectableToken,
        headers: Option<Vec<(HeaderName, HeaderValue)>>,
    ) -> Self {
        let ids = Arc::new(CredentialIds {
            credential_id: resolution.credential.id.clone(),
            vault_id: resolution.credential.vault_id.clone(),
        });
        let echoes = Arc::new(headers.as_deref().map_or_else(Needles::default, needles));
        let report_refusals = resolution.credential.credential_type == CredentialType::McpOauth;
        Self {
            resolution,
            token,
            headers,
            ids,
            echoes,
            report_refusals,
        }
    }

    /// The sender must report a 401 to this injection's source
    /// ([`CredentialSource::refused`]) and may send the request once more
    /// with what the source then answers. OAuth grants are so from
    /// [`Injection::new`]; another source asks for it here.
    #[must_use]
    pub fn reporting_refusals(mut self) -> Self {
        self.report_refusals = true;
        self
    }

    /// Whether a 401 to these headers goes back to the source
    /// ([`CredentialSource::refused`]) before the request is sent again once.
    pub fn reports_refusals(&self) -> bool {
        self.report_refusals
    }

    /// Whether this injection sends what `other` sent: after a refusal, a
    /// request goes again only with other headers (a renewed grant, a newer
    /// version, a replaced token), never the refused ones once more.
    pub fn sends_the_same_as(&self, other: &Injection) -> bool {
        self.headers == other.headers
    }

    /// The headers to add to a request, values marked sensitive (never
    /// printed by `http`'s `Debug`); `None` when a stored value cannot be
    /// sent in an HTTP header.
    pub fn headers(&self) -> Option<&[(HeaderName, HeaderValue)]> {
        self.headers.as_deref()
    }

    /// The needles of [`Self::headers`]: what an answer must not hand back
    /// (shared: a reference count per request; held until the answer ends).
    pub fn echoes(&self) -> &Arc<Needles> {
        &self.echoes
    }
}

/// The needles of headers a sender adds to a request.
pub fn needles(headers: &[(HeaderName, HeaderValue)]) -> Needles {
    Needles::from_headers(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}

/// Header `(name, value)` pairs as HTTP values marked sensitive (never
/// printed by `http`'s `Debug`), each value's bytes wiped when its last
/// clone is dropped; `None` if one cannot be sent (a damaged value). Every
/// source builds its injections' headers with this.
pub fn sensitive_headers<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Zeroizing<String>)>,
) -> Option<Vec<(HeaderName, HeaderValue)>> {
    pairs
        .into_iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let mut bytes = Zeroizing::new(Vec::with_capacity(value.len()));
            bytes.extend_from_slice(value.as_bytes());
            let mut value = HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(bytes)).ok()?;
            value.set_sensitive(true);
            Some((name, value))
        })
        .collect()
}

/// Which credential (of which vault) a request used.
#[derive(Debug, PartialEq, Eq)]
pub struct CredentialIds {
    pub credential_id: String,
    pub vault_id: String,
}

/// One request that used a credential. Carries what was resolved at
/// request time, so the use is recorded even if the credential is deleted
/// before the batch is written. Never holds a header or a body.
#[derive(Debug, Clone)]
pub struct CredentialUse {
    pub credential_id: String,
    pub vault_id: String,
    pub upstream_url: String,
    pub session_id: Option<String>,
    /// The app connection whose bridge made the request.
    pub connection_id: Option<String>,
    /// The HTTP method of the request.
    pub method: Option<String>,
    /// The upstream's HTTP status; `None` when no answer came back.
    pub status: Option<i64>,
    /// A short note for failed requests.
    pub detail: Option<String>,
    /// The first (or only) use's time.
    pub at: Timestamp,
    /// How many requests this record stands for: the proxy counts alike
    /// uses (same credential, session, server, method, status and note)
    /// within one audit window into one record; 1 elsewhere.
    pub count: u32,
    /// A use, or an answer to one that echoed the credential back.
    pub kind: UseKind,
}

/// What a [`CredentialUse`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UseKind {
    /// A request carried the credential (`credential.used`).
    #[default]
    Used,
    /// The server's answer to one repeated an injected secret, which was
    /// covered before the agent saw it (`credential.echoed`); `detail` says
    /// where (`status line`, `headers`, `body`).
    Echoed,
}

/// Where uses are written (the audit trail and "last used"), in batches,
/// off the request's path.
pub trait UsageSink: Send + 'static {
    /// Records the batch (one transaction for the local store).
    fn record(&mut self, uses: &[CredentialUse]) -> Result<()>;
}
