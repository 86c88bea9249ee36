//! Shared by the engine tests: an initialised engine on the real keychain,
//! the token the proxy would inject, and a way to wipe the keychain entry.

use std::path::Path;

use keybearer_vault::{Engine, NewCredential, OsKeychain, SetupProtection};

use super::{require_secret_service, token};

pub fn credential(url: &str, value: &str) -> NewCredential {
    NewCredential {
        mcp_server_url: url.to_string(),
        protocol: None,
        secret: token(value).into(),
    }
}

/// An initialised, unlocked engine; returns it with its recovery key.
pub fn new_engine(dir: &Path) -> (Engine, String) {
    require_secret_service();
    let mut engine = Engine::open(dir).expect("open");
    let recovery = engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("init");
    (engine, recovery.reveal_once().to_string())
}

/// What the proxy would inject: the token the tokens part opens for these
/// vaults and this URL (a fresh read path each time, as a new session gets).
pub fn injected(engine: &mut Engine, vaults: &[String], url: &str) -> Option<String> {
    engine
        .tokens()
        .expect("tokens")
        .lookup(vaults, url)
        .expect("resolve")
        .map(|injection| injection.token.expose_for_injection().to_string())
}

pub fn wipe_keychain_entry(account: &str) {
    keyring::Entry::new(OsKeychain::service(), account)
        .expect("entry")
        .delete_credential()
        .expect("delete from the keychain");
}
