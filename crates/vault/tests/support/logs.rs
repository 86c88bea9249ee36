//! Every log line of a test process, at every level of every Keybearer
//! crate, so a test can prove no token, password or value was logged.
//! Shared by the engine's tests and the team tests (crates/team/tests).

use std::sync::{Arc, Mutex};

pub fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static BUFFER: std::sync::OnceLock<Arc<Mutex<Vec<u8>>>> = std::sync::OnceLock::new();
    Arc::clone(BUFFER.get_or_init(|| {
        let buffer: Arc<Mutex<Vec<u8>>> = Arc::default();
        let writer = Arc::clone(&buffer);
        // Every Keybearer crate's logs: a leak check that misses one crate
        // would pass without looking.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "keybearer_vault=debug,keybearer_team=debug,keybearer_platform=debug,keybearer_base=debug,keybearer_net=debug,keybearer_oauth=debug,keybearer_source=debug,keybearer_proxy=debug,keybearer_bridge=debug",
            ))
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .try_init();
        buffer
    }))
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
