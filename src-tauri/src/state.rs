//! The engine shared by all commands. Engine calls can block (keychain
//! prompts, SQLite, network probes), so every command runs them on a
//! blocking thread, never on the UI thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use keybearer_vault::{Engine, PendingKey};

use crate::error::{IpcError, IpcResult};

pub struct AppState {
    data_dir: PathBuf,
    /// Opened lazily so a failure (e.g. data from a newer version) is reported
    /// to the UI instead of crashing at start, and a retry can succeed.
    engine: Arc<Mutex<Option<Engine>>>,
    /// A key shown to the user and not stored yet (first setup or a new
    /// recovery key), until they confirm they saved it.
    pending_key: Arc<Mutex<Option<PendingKey>>>,
    /// When the app started, for the log line that says how long the
    /// window took to come up (`scripts/desktop-figures.sh` reads it).
    started: Instant,
    window_up: AtomicBool,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            engine: Arc::new(Mutex::new(None)),
            pending_key: Arc::new(Mutex::new(None)),
            started: Instant::now(),
            window_up: AtomicBool::new(false),
        }
    }

    /// The window's script asks for the app's status first thing, as it
    /// draws its first screen: logged once, with the time since start.
    pub fn window_asked(&self) {
        if !self.window_up.swap(true, Ordering::Relaxed) {
            tracing::info!(
                after_ms = self.started.elapsed().as_millis() as u64,
                "window up: its first screen asked for the app's status"
            );
        }
    }

    /// The data folder this app serves.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    pub fn pending_key(&self) -> Arc<Mutex<Option<PendingKey>>> {
        Arc::clone(&self.pending_key)
    }

    /// Runs `job` with the engine on a blocking thread.
    pub async fn run<T, F>(&self, job: F) -> IpcResult<T>
    where
        T: serde::Serialize + Send + 'static,
        F: FnOnce(&mut Engine) -> keybearer_vault::Result<T> + Send + 'static,
    {
        let result = self.with_engine(job).await;
        trace_ipc_answer(&result);
        result
    }

    /// Like [`AppState::run`] for results that stay on the Rust side (they
    /// are not sent to the webview, so they need not be serialisable).
    pub async fn with_engine<T, F>(&self, job: F) -> IpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Engine) -> keybearer_vault::Result<T> + Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        let data_dir = self.data_dir.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let mut guard = engine
                .lock()
                .map_err(|_| IpcError::internal("engine lock poisoned"))?;
            let engine = match guard.as_mut() {
                Some(engine) => engine,
                None => guard.insert(open_engine(&data_dir)?),
            };
            job(engine).map_err(IpcError::from)
        })
        .await
        .map_err(|_| IpcError::internal("background task failed"))?
    }
}

/// Opens the engine and removes what sessions of dead Keybearer processes
/// left behind (their private folders can hold a token).
fn open_engine(data_dir: &std::path::Path) -> keybearer_vault::Result<Engine> {
    #[cfg_attr(not(any(unix, windows)), allow(unused_mut))]
    let mut engine = Engine::open(data_dir)?;
    #[cfg(any(unix, windows))]
    if let Err(error) = keybearer_session::sweep_orphaned_sessions(&mut engine) {
        tracing::warn!(code = %error.code(), "could not sweep orphaned sessions");
    }
    Ok(engine)
}

/// Debug builds only: with `KEYBEARER_IPC_TRACE=<file>` set, every answer
/// sent to the webview is appended to that file, so the end-to-end tests can
/// prove no IPC response ever carries a token. Compiled out of release builds.
pub fn trace_ipc_answer<T: serde::Serialize>(answer: &IpcResult<T>) {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("KEYBEARER_IPC_TRACE") {
        use std::io::Write;
        let line = serde_json::to_string(answer).unwrap_or_default();
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        if let Ok(mut file) = options.open(path) {
            let _ = writeln!(file, "{} {line}", std::any::type_name::<T>());
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = answer;
}
