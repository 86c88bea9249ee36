//! The desktop's running sessions: the core's `SessionManager`, each
//! session's keyboard writer, and a thread per session that forwards the
//! agent's terminal output to the webview as `session-output` events and
//! reports its end as `session-ended`. No business logic: starting, stopping
//! and cleaning up are the core's.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use keybearer_session::{
    Launcher, ProxyActivity, ServerActivity, Session, SessionManager, SessionPty,
};
use keybearer_vault::Engine;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

/// Terminal output, as the agent wrote it (UTF-8, lossy on invalid bytes).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SessionOutput {
    pub id: String,
    pub data: String,
}

/// A session ended (by itself, by Stop, or failed).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SessionEnded {
    pub id: String,
    pub session: Session,
}

pub const OUTPUT_EVENT: &str = "session-output";
pub const ENDED_EVENT: &str = "session-ended";

type Writer = Box<dyn Write + Send>;

#[derive(Default)]
pub struct Sessions {
    launcher: OnceLock<Launcher>,
    writers: Mutex<HashMap<String, Arc<Mutex<Writer>>>>,
    /// Proxy counters per session, kept after it ends so the view can show them.
    activity: Mutex<HashMap<String, ProxyActivity>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// The launcher, created on first use (it records into the engine's
    /// database); session proxies run on Tauri's async runtime.
    pub fn launcher(&self, engine: &Engine) -> keybearer_vault::Result<&Launcher> {
        if let Some(launcher) = self.launcher.get() {
            return Ok(launcher);
        }
        let runtime = tauri::async_runtime::handle().inner().clone();
        let launcher = Launcher::new(engine, runtime)?;
        Ok(self.launcher.get_or_init(|| launcher))
    }

    pub fn keep_activity(&self, id: &str, activity: ProxyActivity) {
        lock(&self.activity).insert(id.to_string(), activity);
    }

    pub fn activity(&self, id: &str) -> Vec<ServerActivity> {
        lock(&self.activity)
            .get(id)
            .map(ProxyActivity::snapshot)
            .unwrap_or_default()
    }

    /// The manager if any session was ever started.
    pub fn existing(&self) -> Option<Arc<SessionManager>> {
        self.launcher
            .get()
            .map(|launcher| Arc::clone(launcher.manager()))
    }

    /// Keeps the session's keyboard writer and starts forwarding its output.
    pub fn attach(
        self: &Arc<Self>,
        app: AppHandle,
        manager: Arc<SessionManager>,
        id: String,
        pty: &SessionPty,
    ) -> keybearer_vault::Result<()> {
        let reader = pty.reader()?;
        let writer = pty.take_writer()?;
        lock(&self.writers).insert(id.clone(), Arc::new(Mutex::new(writer)));
        let sessions = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("pty-{id}"))
            .spawn(move || {
                forward_output(&app, &id, reader);
                lock(&sessions.writers).remove(&id);
                if let Ok(session) = manager.wait(&id) {
                    let _ = app.emit(ENDED_EVENT, SessionEnded { id, session });
                }
            })
            .map_err(|error| {
                keybearer_vault::Error::Spawn(format!("no thread for the terminal ({error})"))
            })?;
        Ok(())
    }

    /// Sends keyboard input to the agent.
    pub fn write(&self, id: &str, data: &[u8]) -> keybearer_vault::Result<()> {
        let writer = lock(&self.writers)
            .get(id)
            .cloned()
            .ok_or_else(|| keybearer_vault::Error::not_found("session", id))?;
        let mut writer = lock(&writer);
        writer.write_all(data)?;
        writer.flush()?;
        Ok(())
    }

    /// Stops every session and removes its temp files (app exit).
    pub fn shutdown(&self) {
        if let Some(launcher) = self.launcher.get() {
            launcher.manager().shutdown();
        }
    }
}

/// Reads until the terminal closes, emitting whole UTF-8 characters (a
/// character split across two reads is held back until its end arrives).
fn forward_output(app: &AppHandle, id: &str, mut reader: Box<dyn Read + Send>) {
    let mut buffer = [0u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        let complete = complete_utf8_len(&pending);
        if complete == 0 {
            continue;
        }
        let data = String::from_utf8_lossy(&pending[..complete]).into_owned();
        pending.drain(..complete);
        let _ = app.emit(
            OUTPUT_EVENT,
            SessionOutput {
                id: id.to_string(),
                data,
            },
        );
    }
    if !pending.is_empty() {
        let data = String::from_utf8_lossy(&pending).into_owned();
        let _ = app.emit(
            OUTPUT_EVENT,
            SessionOutput {
                id: id.to_string(),
                data,
            },
        );
    }
}

/// How many leading bytes can be decoded now: all of them unless the buffer
/// ends inside a (so far valid) multi-byte character.
fn complete_utf8_len(bytes: &[u8]) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        // An incomplete character at the very end: wait for the rest.
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        // Invalid bytes: decode lossily, nothing to wait for.
        Err(_) => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::complete_utf8_len;

    #[test]
    fn holds_back_a_split_character() {
        let snowman = "☃".as_bytes();
        let mut bytes = b"ab".to_vec();
        bytes.extend_from_slice(&snowman[..2]);
        assert_eq!(complete_utf8_len(&bytes), 2);
        bytes.push(snowman[2]);
        assert_eq!(complete_utf8_len(&bytes), bytes.len());
        assert_eq!(complete_utf8_len(b"a\xffb"), 3);
    }
}
