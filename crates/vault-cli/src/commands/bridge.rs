//! `keybearer bridge`: gathers what the engine's stdio bridge needs and runs
//! it. Nothing here reads stdin or prompts: stdin and stdout carry the app's
//! MCP messages, so a bridge that cannot unlock (passphrase mode, locked
//! keychain) still runs and answers every request with the reason.

use vault_core::bridge::{self, BridgeSetup};
use vault_core::{guess_protocol, normalize_server_url, Engine, Error};

pub fn run(engine: &mut Engine, connection_id: &str, server: &str) -> Result<u8, Error> {
    let server_url = normalize_server_url(server)?;
    let connection = engine.connections().get(connection_id).ok();
    let app = connection
        .as_ref()
        .map_or_else(|| "This app".to_string(), |c| app_name(&c.app));
    // The credential says which transport the server speaks; without one
    // (yet), the URL's usual shape does.
    let protocol = connection
        .as_ref()
        .and_then(|c| {
            engine
                .resolver()
                .resolve(&c.vault_ids, &server_url)
                .ok()
                .flatten()
        })
        .map_or_else(|| guess_protocol(&server_url), |r| r.credential.protocol);
    let tokens = engine.tokens();
    let recorder = engine.usage_recorder().ok();
    bridge::run(BridgeSetup {
        connection_id: connection_id.trim().to_string(),
        server_url,
        protocol,
        app,
        tokens,
        recorder,
    })?;
    Ok(0)
}

fn app_name(app: &str) -> String {
    vault_core::parse_app(app)
        .map_or_else(|_| app.to_string(), |app| app.display_name().to_string())
}
