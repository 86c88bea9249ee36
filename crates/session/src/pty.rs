//! The pseudo-terminal a desktop session's agent runs on: a reader for its
//! output, a writer for keyboard input, and resize.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use keybearer_base::error::{Error, Result};

type Master = Box<dyn portable_pty::MasterPty + Send>;

type Reader = Box<dyn Read + Send>;
type Writer = Box<dyn Write + Send>;

/// A handle on a session's terminal. Clones share it; the session manager
/// closes it when the session ends, after which readers reach end of file.
/// The first reader and the writer are made with the terminal, so whoever
/// shows the session gets them (and all the agent printed) even when the
/// agent ended, and the terminal was closed, before it asked.
#[derive(Clone)]
pub struct SessionPty {
    master: Arc<Mutex<Option<Master>>>,
    first_reader: Arc<Mutex<Option<Reader>>>,
    writer: Arc<Mutex<Option<Writer>>>,
}

impl std::fmt::Debug for SessionPty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionPty")
    }
}

impl SessionPty {
    pub(crate) fn new(master: Master) -> Result<Self> {
        let reader = master
            .try_clone_reader()
            .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        let writer = master
            .take_writer()
            .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        Ok(Self {
            master: Arc::new(Mutex::new(Some(master))),
            first_reader: Arc::new(Mutex::new(Some(reader))),
            writer: Arc::new(Mutex::new(Some(writer))),
        })
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
    pub fn reader(&self) -> Result<Reader> {
        if let Some(first) = self
            .first_reader
            .lock()
            .ok()
            .and_then(|mut first| first.take())
        {
            return Ok(first);
        }
        self.with_master(|master| master.try_clone_reader().map_err(|e| e.to_string()))
    }

    /// The writer for the agent's input (keyboard). Can be taken once, also
    /// after the session ended (writes then fail).
    pub fn take_writer(&self) -> Result<Writer> {
        self.writer
            .lock()
            .ok()
            .and_then(|mut writer| writer.take())
            .ok_or_else(|| {
                Error::Io(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the terminal's keyboard is already taken",
                ))
            })
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

    /// The session ended: no new reader, no resize. The first reader and
    /// the writer, if nobody took them yet, stay for whoever shows it.
    pub(crate) fn close(&self) {
        if let Ok(mut guard) = self.master.lock() {
            guard.take();
        }
    }
}
