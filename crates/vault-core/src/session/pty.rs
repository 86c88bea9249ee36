//! The pseudo-terminal a desktop session's agent runs on: a reader for its
//! output, a writer for keyboard input, and resize.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

type Master = Box<dyn portable_pty::MasterPty + Send>;

/// A handle on a session's terminal. Clones share it; the session manager
/// closes it when the session ends, after which readers reach end of file.
#[derive(Clone)]
pub struct SessionPty {
    master: Arc<Mutex<Option<Master>>>,
}

impl std::fmt::Debug for SessionPty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionPty")
    }
}

impl SessionPty {
    pub(crate) fn new(master: Master) -> Self {
        Self {
            master: Arc::new(Mutex::new(Some(master))),
        }
    }

    fn with_master<T>(
        &self,
        job: impl FnOnce(&Master) -> std::result::Result<T, String>,
    ) -> Result<T> {
        let guard = self
            .master
            .lock()
            .map_err(|_| Error::Spawn("the terminal's lock was poisoned".into()))?;
        let master = guard.as_ref().ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the session has ended and its terminal is closed",
            ))
        })?;
        job(master).map_err(|detail| Error::Io(std::io::Error::other(detail)))
    }

    /// A new reader of the agent's output. Reads end (0 bytes, or an I/O
    /// error on Linux) once the agent and everything holding the terminal exit.
    pub fn reader(&self) -> Result<Box<dyn Read + Send>> {
        self.with_master(|master| master.try_clone_reader().map_err(|e| e.to_string()))
    }

    /// The writer for the agent's input (keyboard). Can be taken once.
    pub fn take_writer(&self) -> Result<Box<dyn Write + Send>> {
        self.with_master(|master| master.take_writer().map_err(|e| e.to_string()))
    }

    /// Tells the agent its terminal changed size (it gets SIGWINCH).
    pub fn resize(&self, rows: u16, cols: u16) -> Result<()> {
        self.with_master(|master| {
            master
                .resize(portable_pty::PtySize {
                    rows,
                    cols,
                    pixel_width: 0,
                    pixel_height: 0,
                })
                .map_err(|e| e.to_string())
        })
    }

    pub(crate) fn close(&self) {
        if let Ok(mut guard) = self.master.lock() {
            guard.take();
        }
    }
}
