//! The HTTP client that talks to MCP servers (the session proxy's and the
//! bridge's): HTTP/1.1, TLS by rustls (ring)
//! trusting the webpki roots plus the system's, a 10 s limit on connecting
//! (TCP, proxy tunnel and TLS handshake together) and none on a response body,
//! since an SSE stream may rightly stay open for hours. Redirects are never
//! followed: this client has no such feature.
//!
//! `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` (read once, when a session
//! starts) apply to `https://` servers, reached through an `http://` proxy
//! with `CONNECT`, so the proxy sees only the encrypted stream. Servers on
//! this computer always go direct: plain `http://` ones (loopback-only by the
//! URL rules) and `https://` ones at a loopback address.
//!
//! `blocking`: the same client for callers that wait for one answer (Test
//! connection, OAuth, a team server), so there is one HTTP/TLS stack, not
//! two. A team server's client may also trust the CA file the user added
//! for it (`ExtraRoots`); no other client does.

pub mod blocking;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower_service::Service;

use keybearer_base::error::{Error, Result};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response head accepted from an upstream.
pub const MAX_RESPONSE_HEAD: usize = 256 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// A client with its own connection pool (one per session or bridge), for
/// request bodies of type `B`.
pub fn client<B>() -> Result<Client<Connector, B>>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Ok(client_with(connector()?))
}

fn client_with<B>(connector: Connector) -> Client<Connector, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .http1_max_buf_size(MAX_RESPONSE_HEAD)
        // The proxy sets Host itself, from the credential URL.
        .set_host(false)
        .build(connector)
}

/// What opens a connection to a server (TCP or a proxy's tunnel, TLS, the
/// loopback owner check, the connect deadline): the session proxy's own
/// pool (`proxy::pool`) uses it directly.
pub fn connector() -> Result<Connector> {
    connector_with(tls_config()?)
}

/// [`connector`] that also trusts `extra` roots (a team server's own CA).
pub(crate) fn connector_trusting(extra: &ExtraRoots) -> Result<Connector> {
    if extra.0.is_empty() {
        return connector();
    }
    let mut roots = system_roots();
    for root in &extra.0 {
        roots
            .add(root.clone())
            .map_err(|error| Error::Io(std::io::Error::other(error)))?;
    }
    connector_with(config_with(roots)?)
}

fn connector_with(tls: Arc<rustls::ClientConfig>) -> Result<Connector> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // Notices a vanished server under a long-lived SSE stream.
    tcp.set_keepalive(Some(Duration::from_secs(60)));
    let direct_or_tunnel = TcpOrTunnel {
        tcp,
        proxies: Arc::new(Matcher::from_env()),
    };
    let https = HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(direct_or_tunnel);
    Ok(Connector { https })
}

/// Why a request to a server failed, in its innermost words: "Connection
/// refused (os error 111)", not "client error (Connect)". For the proxy's
/// and the bridge's messages.
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Loads the TLS roots (the system's certificate store takes milliseconds
/// to read) on a thread of its own, so a process that will soon need them —
/// a bridge, whose first request an app is waiting for — does not wait for
/// them after its keychain and database are open.
pub fn warm_up() {
    std::thread::spawn(|| {
        let _ = tls_config();
    });
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let config = config_with(system_roots())?;
    Ok(Arc::clone(CONFIG.get_or_init(|| config)))
}

/// The webpki roots plus the system's.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A company's own root (installed in the system store) must work too;
    // unreadable system certificates are skipped, the webpki roots remain.
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(
        system_roots = added,
        errors = native.errors.len(),
        "TLS roots loaded"
    );
    roots
}

fn config_with(roots: rustls::RootCertStore) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| Error::Io(std::io::Error::other(error)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Certificate authorities a user added for one server (a team server's
/// own CA file), trusted beside the system's roots for that server's
/// client only, never for MCP servers.
#[derive(Clone, Default)]
pub struct ExtraRoots(Vec<rustls::pki_types::CertificateDer<'static>>);

impl ExtraRoots {
    /// The certificates of a PEM file (`-----BEGIN CERTIFICATE-----`);
    /// `field` names the setting in the error.
    pub fn from_pem(pem: &[u8], field: &'static str) -> Result<Self> {
        use rustls::pki_types::pem::PemObject;
        let certificates = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::invalid(
                    field,
                    "The CA file could not be read as PEM certificates. Use the CA certificate file your administrator gave you (it starts with -----BEGIN CERTIFICATE-----).",
                )
            })?;
        if certificates.is_empty() {
            return Err(Error::invalid(
                field,
                "The CA file holds no certificate. Use the CA certificate file your administrator gave you (it starts with -----BEGIN CERTIFICATE-----).",
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for certificate in &certificates {
            roots.add(certificate.clone()).map_err(|_| {
                Error::invalid(
                    field,
                    "A certificate in the CA file cannot be used as a certificate authority. Ask your administrator for the CA's own certificate.",
                )
            })?;
        }
        Ok(Self(certificates))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each certificate's DER bytes (what a fingerprint is taken of).
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|certificate| certificate.as_ref())
    }
}

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtraRoots({} certificates)", self.0.len())
    }
}

/// Whether a failure's cause (as [`root_cause`] words it) is a server
/// certificate that no trusted root vouches for, or that does not fit.
pub fn is_certificate_failure(cause: &str) -> bool {
    cause.starts_with("invalid peer certificate")
}

/// The TLS connector with the overall connect deadline.
#[derive(Clone)]
pub struct Connector {
    https: HttpsConnector<TcpOrTunnel>,
}

impl Service<Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.https.poll_ready(cx)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let connecting = self.https.call(destination);
        Box::pin(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no connection within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                )
                .into()),
            }
        })
    }
}

/// TCP straight to the server, or through an HTTP proxy's `CONNECT` tunnel
/// when the environment names one for this `https://` destination.
#[derive(Clone)]
struct TcpOrTunnel {
    tcp: HttpConnector,
    proxies: Arc<Matcher>,
}

impl Service<Uri> for TcpOrTunnel {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let on_this_computer = destination.host().is_some_and(|host| {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.to_canonical().is_loopback())
        });
        let intercept = (destination.scheme_str() == Some("https") && !on_this_computer)
            .then(|| self.proxies.intercept(&destination))
            .flatten();
        let Some(intercept) = intercept else {
            let connecting = self.tcp.call(destination);
            return Box::pin(async move {
                let io = connecting.await.map_err(BoxError::from)?;
                // A server on this computer must be a trusted user's before
                // anything (the token) is written to it.
                let stream = io.inner();
                if let (Ok(ours), Ok(server)) = (stream.local_addr(), stream.peer_addr()) {
                    keybearer_platform::loopback::check_connection(ours, server)
                        .await
                        .map_err(BoxError::from)?;
                }
                Ok(io)
            });
        };
        if intercept.uri().scheme_str() != Some("http") {
            return Box::pin(async {
                Err(
                    "HTTPS_PROXY must be an http:// proxy; other proxy kinds are not supported"
                        .into(),
                )
            });
        }
        let mut tunnel = Tunnel::new(intercept.uri().clone(), self.tcp.clone());
        if let Some(auth) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        let connecting = tunnel.call(destination);
        Box::pin(async move { connecting.await.map_err(BoxError::from) })
    }
}
