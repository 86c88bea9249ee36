//! The log file shared by the CLI and the desktop app: `keybearer.log` in
//! the data folder, mode 0600. Log lines carry ids and error codes, never
//! secrets (the secret types cannot even be formatted).

use std::path::Path;

pub const LOG_FILE: &str = "keybearer.log";

/// Starts appending structured logs; level from `KEYBEARER_LOG` (default info).
/// Logging is best effort: a read-only folder must not stop the app.
pub fn init_file_log(data_dir: &Path) {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if std::fs::create_dir_all(data_dir).is_err() {
        return;
    }
    let Ok(file) = options.open(data_dir.join(LOG_FILE)) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KEYBEARER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
