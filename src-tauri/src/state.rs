//! The engine shared by all commands. Engine calls can block (keychain
//! prompts, SQLite, network probes), so every command runs them on a
//! blocking thread, never on the UI thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use vault_core::Engine;

use crate::error::{IpcError, IpcResult};

pub struct AppState {
    data_dir: PathBuf,
    /// Opened lazily so a failure (e.g. data from a newer version) is reported
    /// to the UI instead of crashing at start, and a retry can succeed.
    engine: Arc<Mutex<Option<Engine>>>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            engine: Arc::new(Mutex::new(None)),
        }
    }

    /// Runs `job` with the engine on a blocking thread.
    pub async fn run<T, F>(&self, job: F) -> IpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> vault_core::Result<T> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let data_dir = self.data_dir.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let mut guard = engine
                .lock()
                .map_err(|_| IpcError::internal("engine lock poisoned"))?;
            let engine = match guard.as_mut() {
                Some(engine) => engine,
                None => guard.insert(Engine::open(&data_dir)?),
            };
            job(engine).map_err(IpcError::from)
        })
        .await
        .map_err(|_| IpcError::internal("background task failed"))?
    }
}
