//! Proxy mode (the default): the session's loopback proxy and the endpoints
//! that point the agent at it. The agent's config then carries only the
//! per-session secret; the real tokens stay inside Keybearer.

use super::endpoint::{server_names, HeaderSecret, McpEndpoint};
use keybearer_base::error::{Error, Result};
use keybearer_base::model::Protocol;
use keybearer_proxy::SessionProxy;
use keybearer_vault::{CredentialSource, UsageRecorder};

/// Starts the proxy for `session_id` with one listener per server
/// (`servers`: each URL with the protocol of the credential that wins for
/// it), asking `source` (the local store's tokens, or a `Routed` source of
/// local and team vaults) for credentials, and returns it with the
/// endpoints to configure. Must run inside a Tokio runtime; keep the proxy
/// alive exactly as long as the agent.
pub(crate) async fn proxy_endpoints(
    source: std::sync::Arc<dyn CredentialSource>,
    recorder: UsageRecorder,
    session_id: &str,
    vault_ids: &[String],
    servers: Vec<(String, Protocol)>,
) -> Result<(SessionProxy, Vec<McpEndpoint>)> {
    let urls: Vec<String> = servers.iter().map(|(url, _)| url.clone()).collect();
    let proxy = SessionProxy::start(
        source,
        recorder,
        session_id,
        vault_ids.to_vec(),
        urls.clone(),
    )
    .await?;
    let names = server_names(urls.iter().map(String::as_str));
    let mut endpoints = Vec::with_capacity(servers.len());
    for ((url, protocol), name) in servers.into_iter().zip(names) {
        let local_url = proxy
            .local_url(&url)
            .ok_or_else(|| Error::not_found("proxy listener", url.clone()))?
            .to_string();
        endpoints.push(McpEndpoint {
            name,
            url: local_url,
            transport: protocol,
            headers: vec![(
                "Authorization".to_string(),
                HeaderSecret::bearer(proxy.secret().expose_for_agent_config())?,
            )],
        });
    }
    Ok((proxy, endpoints))
}
