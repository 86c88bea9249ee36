//! Proxy mode (the default): the session's loopback proxy and the endpoints
//! that point the agent at it. The agent's config then carries only the
//! per-session secret; the real tokens stay inside Keybearer.

use std::sync::{Arc, Mutex};

use super::endpoint::{server_names, session_server_urls, HeaderSecret, McpEndpoint};
use crate::error::{Error, Result};
use crate::model::Protocol;
use crate::proxy::SessionProxy;
use crate::Engine;

/// Starts the proxy for `session_id` with one listener per server the vaults
/// cover, and returns it with the endpoints to configure. Must run inside a
/// Tokio runtime; keep the proxy alive exactly as long as the agent.
pub async fn proxy_endpoints(
    engine: Arc<Mutex<Engine>>,
    session_id: &str,
    vault_ids: &[String],
) -> Result<(SessionProxy, Vec<McpEndpoint>)> {
    let servers = {
        let engine = Arc::clone(&engine);
        let vault_ids = vault_ids.to_vec();
        tokio::task::spawn_blocking(move || {
            let engine = engine
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            servers_with_protocols(&engine, &vault_ids)
        })
        .await
        .map_err(|_| Error::invalid("session", "The session could not be prepared; try again."))??
    };
    let urls: Vec<String> = servers.iter().map(|(url, _)| url.clone()).collect();
    let proxy = SessionProxy::start(engine, session_id, vault_ids.to_vec(), urls.clone()).await?;
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
            authorization: HeaderSecret::bearer(proxy.secret().expose_for_agent_config())?,
        });
    }
    Ok((proxy, endpoints))
}

/// Each server URL with the protocol of the credential that wins for it.
fn servers_with_protocols(
    engine: &Engine,
    vault_ids: &[String],
) -> Result<Vec<(String, Protocol)>> {
    let mut servers = Vec::new();
    for url in session_server_urls(engine, vault_ids)? {
        let resolution = engine
            .resolve(vault_ids, &url)?
            .ok_or_else(|| Error::not_found("credential", url.clone()))?;
        servers.push((url, resolution.credential.protocol));
    }
    Ok(servers)
}
