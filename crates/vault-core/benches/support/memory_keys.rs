//! A key store in memory for the benchmarks: they measure the proxy, not
//! the OS keychain.

use std::collections::HashMap;
use std::sync::Mutex;

use vault_core::{KeyStore, KeychainError, MasterKey};

#[derive(Default)]
pub struct MemoryKeys(Mutex<HashMap<String, MasterKey>>);

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
