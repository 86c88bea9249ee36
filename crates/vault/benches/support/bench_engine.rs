//! The benchmarks' engine: a fresh database in `dir`, set up, with its
//! master key in memory (they measure the proxy and the store, not the OS
//! keychain).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use keybearer_proxy::SessionProxy;
use keybearer_vault::{
    AccessToken, Engine, KeyStore, KeychainError, MasterKey, NewCredential, SetupProtection,
};

/// The binaries' allocator (the CLI's and the app's `main.rs`), so the
/// proxy's memory and CPU are measured as they ship.
#[cfg(unix)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// An engine on a new database in `dir`, initialised and unlocked.
pub fn bench_engine(dir: &Path) -> Engine {
    let mut engine =
        Engine::open_with_keychain(dir, Box::new(MemoryKeys::default())).expect("engine");
    engine
        .keys()
        .initialize(SetupProtection::Keychain)
        .expect("initialize");
    engine
}

/// A session listener for `url` (a vault holding `token` for it), on the
/// proxy's own worker threads, as the CLI and the app start one.
#[allow(dead_code)] // not every benchmark runs a session
pub async fn bench_proxy(engine: &mut Engine, url: &str, token: &str) -> SessionProxy {
    let vault = engine
        .catalog()
        .create_vault(
            "Bench",
            "development",
            vec![NewCredential {
                mcp_server_url: url.to_string(),
                protocol: None,
                secret: AccessToken::new(token.to_string()).expect("token").into(),
            }],
        )
        .expect("vault");
    SessionProxy::start(
        engine.tokens().expect("tokens"),
        engine.usage_recorder().expect("recorder"),
        "sesn_bench",
        vec![vault.id],
        vec![url.to_string()],
    )
    .await
    .expect("proxy")
}

#[derive(Default)]
struct MemoryKeys(Mutex<HashMap<String, MasterKey>>);

impl KeyStore for MemoryKeys {
    fn load(&self, account: &str) -> Result<Option<MasterKey>, KeychainError> {
        Ok(self.0.lock().expect("keys").get(account).cloned())
    }

    fn save(&self, account: &str, key: &MasterKey) -> Result<(), KeychainError> {
        self.0
            .lock()
            .expect("keys")
            .insert(account.to_string(), key.clone());
        Ok(())
    }
}
