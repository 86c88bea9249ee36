//! One proxied request, start to finish: check the host and the session
//! secret, look the credential up (by the session's vaults and the server
//! URL, on every request), swap the secret for the real token, forward, and
//! hand the answer back as it streams, with anything of the credential the
//! server repeated covered (`echo`).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::audit::AuditLog;
use super::echo::Echo;
use super::head::{admit, upstream_head, Refused};
use super::headers::strip_hop_by_hop;
use super::origin::{OriginMap, Target};
use super::paths::AllowedPaths;
use super::pool::{PooledBody, UpstreamPool};
use super::refusals::RefusalLog;
use super::replay::{self, Replay, RequestBody};
use super::secret::SessionSecret;
use super::sse::RewrittenStream;
use keybearer_base::echo::Needles;
use keybearer_source::{CredentialSource, Injection, Scope};

pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// Everything one listener needs; shared by its connections.
pub(crate) struct Route {
    pub(crate) source: Arc<dyn CredentialSource>,
    pub(crate) session_id: Arc<str>,
    pub(crate) vault_ids: Arc<[String]>,
    /// The normalised credential URL: what the token is looked up by.
    pub(crate) credential_url: Arc<str>,
    pub(crate) upstream_host: HeaderValue,
    pub(crate) origins: OriginMap,
    /// The paths the token may be sent to (the credential's, and those the
    /// upstream sent the agent to).
    pub(crate) paths: Arc<AllowedPaths>,
    pub(crate) refusals: Arc<RefusalLog>,
    pub(crate) listener_port: u16,
    pub(crate) secret: Arc<SessionSecret>,
    /// Kept-alive connections to the upstream, by worker thread (`pool`).
    /// Forwards the agent's bodies as they come, or a kept one (see `replay`).
    pub(crate) upstream: Arc<UpstreamPool>,
    pub(crate) audit: AuditLog,
    pub(crate) stats: Arc<super::activity::ListenerStats>,
}

/// Serves one request on worker `worker` (see `workers`).
pub(crate) async fn handle(
    route: Arc<Route>,
    worker: usize,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let response = match forward(&route, worker, request).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    };
    route.stats.record(response.status().as_u16());
    Ok(response)
}

/// An answer the proxy gives itself, as short plain text.
struct Refusal {
    status: StatusCode,
    message: String,
    /// Add `Allow: GET, POST, DELETE` (a 405).
    allow: bool,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        message: message.into(),
        allow: false,
    }
}

impl Refusal {
    fn into_response(self) -> Response<ProxyBody> {
        let mut response = plain(self.status, &self.message);
        if self.allow {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keybearer-proxy\""),
            );
        }
        response
    }
}

async fn forward(
    route: &Arc<Route>,
    worker: usize,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Refusal> {
    let (mut parts, body) = request.into_parts();
    if let Err(refused) = admit(&parts, route.listener_port, &route.secret, &route.paths) {
        route.refusals.refused(&route.session_id, refused.reason());
        return Err(refusal_for(refused, &parts.method, &route.paths));
    }
    let injection = look_up(route)?;

    let method = parts.method.clone();
    upstream_head(&mut parts, &route.upstream_host);
    let credential = &injection.resolution.credential;
    let oauth = credential.credential_type == keybearer_base::model::CredentialType::McpOauth;
    // A 401 goes back to the source (an OAuth grant is renewed, a team
    // credential checked for a newer version), and a request small enough
    // to keep is sent again with what the source then has.
    let reports = injection.reports_refusals();
    let mut ids = Arc::clone(&injection.ids);
    let (body, mut again) = if reports {
        replay::keep(&parts, body).await.map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                "Keybearer proxy: the request body did not arrive whole.",
            )
        })?
    } else {
        (http_body_util::Either::Left(body), None)
    };
    replay::set_credential_headers(&mut parts.headers, credential_headers(&injection)?);
    // Keep only the ids, and the needles the answer must not hand back: the
    // opened token is not held while the server thinks. An injection that
    // reports refusals is kept (it is in the cache anyway) so a 401 names
    // exactly the one that was refused.
    let mut needles = Arc::clone(injection.echoes());
    let mut refused = reports.then(|| Arc::clone(&injection));
    drop(injection);

    let used = |ids: &Arc<keybearer_source::CredentialIds>,
                status: Option<StatusCode>,
                detail: Option<&'static str>| {
        route
            .audit
            .record(ids, &route.credential_url, &method, status, detail);
    };
    let mut request = Request::from_parts(parts, body);
    let response = loop {
        let response = match route.upstream.send(worker, request).await {
            Ok(response) => response,
            Err(error) => {
                let cause = keybearer_net::upstream::root_cause(&*error);
                tracing::warn!(
                    session_id = %route.session_id,
                    upstream = %route.credential_url,
                    %cause,
                    "upstream request failed"
                );
                used(&ids, None, Some("no response from the server"));
                return Err(refuse(
                    StatusCode::BAD_GATEWAY,
                    format!(
                        "Keybearer proxy: could not reach the MCP server {} ({cause}).",
                        route.credential_url
                    ),
                ));
            }
        };
        used(&ids, Some(response.status()), None);
        if response.status() != StatusCode::UNAUTHORIZED {
            break response;
        }
        let Some(grant) = refused.take() else {
            break response;
        };
        match renew(route, grant, again.take()).await {
            // Sent again with the credential now stored: its use is that
            // credential's; the answer may hand back neither value.
            Some(retry) => {
                let (next, sent, sent_ids) = retry?;
                request = next;
                needles = Arc::new(needles.joined(&sent));
                ids = sent_ids;
            }
            None => break response,
        }
    };
    if let (StatusCode::FORBIDDEN, Some(grant), true) = (response.status(), refused, oauth) {
        wants_scope(route, grant, response.headers());
    }
    tracing::debug!(
        session_id = %route.session_id,
        method = %method,
        status = response.status().as_u16(),
        "proxied"
    );
    let echo = Echo {
        needles,
        ids,
        method,
    };
    pass_back(route, response, echo)
}

/// What the agent reads when its request is refused before a lookup.
fn refusal_for(refused: Refused, method: &Method, paths: &AllowedPaths) -> Refusal {
    match refused {
        Refused::Host => refuse(
            StatusCode::FORBIDDEN,
            "Keybearer proxy: this address only answers requests for its own host (127.0.0.1 or localhost with its port).",
        ),
        Refused::Method => Refusal {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!(
                "Keybearer proxy: {method} is not used by MCP; only GET, POST and DELETE are forwarded."
            ),
            allow: true,
        },
        Refused::Secret => refuse(
            StatusCode::UNAUTHORIZED,
            "Keybearer proxy: missing or wrong session secret. Use the Authorization header from this session's MCP config.",
        ),
        Refused::Path => refuse(
            StatusCode::FORBIDDEN,
            format!(
                "Keybearer proxy: this session reaches only the MCP endpoint {} of this server (and the paths the server itself sends it to).",
                paths.credential()
            ),
        ),
    }
}

/// After a 401 on an injection that reports refusals: the source renews an
/// OAuth grant or looks for a newer team credential (once per credential
/// however many requests were refused) and, when the request was kept, the
/// same request comes back with the source's new headers. `None`: nothing to
/// send again (the renewal failed, or the body was not kept), so the agent
/// gets the 401 and its next request the renewed grant or "sign in again".
/// With the request, the needles of the grant it now carries.
/// A request sent again: itself, the needles of what it carries, and the
/// ids of the credential it carries.
type Sent = (
    Request<RequestBody>,
    Arc<Needles>,
    Arc<keybearer_source::CredentialIds>,
);

async fn renew(
    route: &Route,
    refused: Arc<Injection>,
    again: Option<Replay>,
) -> Option<Result<Sent, Refusal>> {
    let source = Arc::clone(&route.source);
    let before = Arc::clone(&refused);
    match tokio::task::spawn_blocking(move || source.refused(&refused)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(code = %error.code(), "renewal after a 401 failed");
            return None;
        }
        Err(_) => return None,
    }
    let again = again?;
    let injection = match look_up(route) {
        Ok(injection) => injection,
        Err(refusal) => return Some(Err(refusal)),
    };
    // The same headers again would only be refused again.
    if injection.sends_the_same_as(&before) {
        return None;
    }
    Some(credential_headers(&injection).map(|headers| {
        let request = again.with(headers);
        (
            request,
            Arc::clone(injection.echoes()),
            Arc::clone(&injection.ids),
        )
    }))
}

/// A 403 `insufficient_scope` on an OAuth grant: the scopes the server asked
/// for are kept for the next sign-in, off the request's path (the agent's
/// answer does not wait for the write).
fn wants_scope(route: &Route, grant: Arc<Injection>, headers: &http::HeaderMap) {
    let challenge = keybearer_oauth::parse_insufficient_scope(
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    );
    let Some(required) = challenge.and_then(|challenge| challenge.scope) else {
        return;
    };
    let source = Arc::clone(&route.source);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = source.wants_scope(&grant, &required) {
            tracing::warn!(code = %error.code(), "could not keep the scopes the server asked for");
        }
    });
}

/// The credential for this request, from the tokens part's cache of opened
/// tokens, on this thread: no engine lock, no hop to a blocking thread.
fn look_up(route: &Route) -> Result<Arc<Injection>, Refusal> {
    let found = route
        .source
        .lookup(Scope::Vaults(&route.vault_ids), &route.credential_url);
    match found {
        Ok(Some(injection)) => Ok(injection),
        // A deleted vault is reported as not found: its credentials are gone too.
        Ok(None) | Err(keybearer_base::Error::NotFound { .. }) => {
            tracing::warn!(
                session_id = %route.session_id,
                upstream = %route.credential_url,
                "request refused: the session's vaults no longer hold a credential for this server (deleted?)"
            );
            Err(refuse(
                StatusCode::UNAUTHORIZED,
                format!(
                    "Keybearer proxy: this session's vaults no longer hold a credential for {}. It may have been deleted.",
                    route.credential_url
                ),
            ))
        }
        Err(error) => {
            tracing::error!(
                session_id = %route.session_id,
                upstream = %route.credential_url,
                code = %error.code(),
                %error,
                "credential lookup failed"
            );
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Keybearer proxy: the credential could not be opened. {error}"),
            ))
        }
    }
}

fn credential_headers(
    injection: &Injection,
) -> Result<&[(http::HeaderName, HeaderValue)], Refusal> {
    injection.headers().ok_or_else(|| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "Keybearer proxy: the stored token cannot be sent in an HTTP header. Replace it.",
        )
    })
}

fn pass_back(
    route: &Arc<Route>,
    response: Response<PooledBody>,
    echo: Echo,
) -> Result<Response<ProxyBody>, Refusal> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    // Before anything reads the head: a `Location` holding the token is
    // judged and rewritten with it covered.
    echo.head(route, &mut parts);
    // The credential is Keybearer's business: an upstream challenge (with
    // its OAuth `resource_metadata`) would invite the agent to sign in by
    // itself, through the proxy. The status stays; the invitation goes.
    if matches!(
        parts.status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    ) {
        parts.headers.remove(WWW_AUTHENTICATE);
    }
    if parts.status.is_redirection() {
        // Never followed here. A Location `reach::check` allows (the
        // upstream's own origin, in the credential's folder) is learned as a
        // path the token may go to and, when absolute, pointed at the
        // listener so the agent comes back through the proxy. A Location on
        // any other origin is refused, like the connection test does: the
        // agent would take its session secret there. One outside the
        // credential's folder is refused too: the token would follow it.
        let locations = parts.headers.get_all(LOCATION).iter().count();
        if let Some(location) = parts.headers.get(LOCATION) {
            // Unreadable or repeated: treated as another server.
            let location = location.to_str().ok().filter(|_| locations == 1);
            let target = location.map_or(Target::Elsewhere, |value| route.origins.target(value));
            let location = location.unwrap_or_default();
            match target {
                Target::Upstream(path) => route.paths.learn(&path),
                Target::Elsewhere => {
                    route
                        .refusals
                        .refused(&route.session_id, "redirect to another server");
                    return Err(refuse(
                        StatusCode::BAD_GATEWAY,
                        "Keybearer proxy: the MCP server redirected to another server. Keybearer does not follow redirects across servers; if that is the right server, add a credential for its address instead.",
                    ));
                }
                Target::Outside(what) => {
                    route.refusals.refused(
                        &route.session_id,
                        "redirect outside the credential's address",
                    );
                    return Err(refuse(
                        StatusCode::BAD_GATEWAY,
                        format!("Keybearer proxy: the MCP server redirected to {what}; Keybearer does not send the credential there. If the server moved, add a credential for its new address."),
                    ));
                }
            }
            let local = route
                .origins
                .to_listener(location)
                .and_then(|value| HeaderValue::from_str(&value).ok());
            if let Some(local) = local {
                parts.headers.insert(LOCATION, local);
            }
        }
    }
    // It was asked for unencoded; an encoded answer cannot be checked for
    // the credential repeated back, nor an event stream for endpoints on
    // other servers, so it is not passed on.
    let Ok(body) = echo.body(route, &parts, body) else {
        route
            .refusals
            .refused(&route.session_id, "compressed answer");
        return Err(refuse(
            StatusCode::BAD_GATEWAY,
            "Keybearer proxy: the MCP server sent a compressed answer although Keybearer asked for it uncompressed. Keybearer cannot check a compressed answer, so it was not passed on. Ask the server's operator to send answers without compression (Accept-Encoding: identity).",
        ));
    };
    let body = if is_event_stream(&parts.headers) {
        parts.headers.remove(CONTENT_LENGTH);
        RewrittenStream::new(body, route.origins.clone(), Arc::clone(&route.paths)).boxed_unsync()
    } else {
        body.boxed_unsync()
    };
    Ok(Response::from_parts(parts, body))
}

/// A `text/event-stream` answer.
fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

pub(crate) fn plain(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut response = Response::new(
        Full::new(Bytes::from(format!("{message}\n")))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
