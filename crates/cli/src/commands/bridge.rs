//! `keybearer bridge`: gathers what the engine's stdio bridge needs and runs
//! it. Nothing here reads stdin or prompts: stdin and stdout carry the app's
//! MCP messages, so a bridge that cannot unlock (passphrase mode, locked
//! keychain) still runs and answers every request with the reason.

use std::path::Path;

use keybearer_bridge::{BridgeCredential, BridgeSetup};
use keybearer_vault::{
    guess_protocol, normalize_server_url, Engine, Error, Protocol, Scope, UsageSink,
};

/// An app connection's bridge: the credential comes from its vaults.
pub fn run(
    engine: &mut Engine,
    connection_id: &str,
    server: &str,
    protocol: Option<&str>,
) -> Result<u8, Error> {
    let server_url = normalize_server_url(server)?;
    let connection = engine.connections().get(connection_id).ok();
    let app = connection
        .as_ref()
        .map_or_else(|| "This app".to_string(), |c| app_name(&c.app));
    // The credential says which transport the server speaks; without one
    // (yet), the URL's usual shape does.
    let stored = connection
        .as_ref()
        .and_then(|c| {
            engine
                .resolver()
                .resolve(&c.vault_ids, &server_url)
                .ok()
                .flatten()
        })
        .map(|r| r.credential.protocol);
    // Local vaults' tokens, and team vaults' through their servers
    // (docs/architecture.md, "Team vaults").
    let source = keybearer_team_vaults::for_connection(engine);
    // A team credential says its transport when it is read (then cached
    // for the first request).
    let stored = stored.or_else(|| {
        let source = source.as_ref().ok()?;
        source
            .lookup(Scope::Connection(connection_id.trim()), &server_url)
            .ok()
            .flatten()
            .map(|found| found.resolution.credential.protocol)
    });
    let protocol = match protocol {
        Some(protocol) => protocol.parse()?,
        None => stored.unwrap_or_else(|| guess_protocol(&server_url)),
    };
    let recorder = engine
        .usage_recorder()
        .ok()
        .map(|recorder| Box::new(recorder) as Box<dyn UsageSink>);
    keybearer_bridge::run(BridgeSetup {
        server_url,
        protocol,
        credential: BridgeCredential::Connection {
            connection_id: connection_id.trim().to_string(),
            app,
            source,
            recorder,
        },
    })?;
    Ok(0)
}

/// A session's bridge (an agent that lacks the server's transport): the
/// headers are in a file of the session's private folder.
pub fn run_fixed(file: &Path, server: &str, protocol: Option<&str>) -> Result<u8, Error> {
    let server_url = normalize_server_url(server)?;
    let protocol: Protocol = match protocol {
        Some(protocol) => protocol.parse()?,
        None => guess_protocol(&server_url),
    };
    let value = zeroize::Zeroizing::new(std::fs::read_to_string(file)?);
    keybearer_bridge::run(BridgeSetup {
        server_url,
        protocol,
        credential: BridgeCredential::Fixed(value),
    })?;
    Ok(0)
}

fn app_name(app: &str) -> String {
    keybearer_apps::parse_app(app)
        .map_or_else(|_| app.to_string(), |app| app.display_name().to_string())
}
