//! Approvals the command line asks of the person at the window
//! (docs/architecture.md, "User presence"): a thread takes each request from
//! the core's approval channel (a socket; a named pipe on Windows), keeps it
//! as pending, brings the window forward and tells the webview
//! (`approval-requested`); the person's answer comes back through
//! `answer_approval`. A request whose asker gave up is withdrawn
//! (`approval-closed`). No business logic: the channel, who may ask and
//! what an answer means are the core's.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use keybearer_session::{ApprovalListener, ApprovalRequest, Asked};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

/// Questions waiting at once; more are refused.
const MAX_PENDING: usize = 8;

pub const REQUESTED_EVENT: &str = "approval-requested";
pub const CLOSED_EVENT: &str = "approval-closed";

/// A request waiting for the person's answer. Holds no secret.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct PendingApproval {
    pub id: String,
    pub request: ApprovalRequest,
    /// The asking process, as the system names it (not as it claims).
    pub pid: u32,
    pub command: String,
}

/// An approval that is no longer waiting (answered, or its asker gave up).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct ApprovalClosed {
    pub id: String,
}

#[derive(Default)]
pub struct Approvals {
    pending: Mutex<HashMap<String, (PendingApproval, Asked)>>,
    /// Numbers the requests (ids sort in the order they came).
    next: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Approvals {
    /// Starts answering approvals for `data_dir` on a thread of its own. A
    /// second window on the same data folder leaves them to the first.
    pub fn listen(self: &Arc<Self>, app: AppHandle, data_dir: &Path) {
        let listener = match ApprovalListener::bind(data_dir) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(code = %error.code(), %error, "approvals are not answered by this window");
                return;
            }
        };
        let approvals = Arc::clone(self);
        std::thread::spawn(move || loop {
            match listener.next() {
                Ok(asked) => approvals.add(&app, asked),
                // Out of descriptors, say: keep answering once it passes.
                Err(error) => {
                    tracing::warn!(code = %error.code(), "approval socket failed; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    }

    fn add(self: &Arc<Self>, app: &AppHandle, asked: Asked) {
        // A flood of questions (only a program of this user can ask) is
        // refused beyond what a person could answer.
        if lock(&self.pending).len() >= MAX_PENDING {
            tracing::warn!("too many approvals waiting; one was refused");
            asked.answer(false);
            return;
        }
        let pending = PendingApproval {
            id: format!("apr_{:08}", self.next.fetch_add(1, Ordering::Relaxed)),
            request: asked.request.clone(),
            pid: asked.pid,
            command: asked.command.clone(),
        };
        let id = pending.id.clone();
        lock(&self.pending).insert(id.clone(), (pending.clone(), asked));
        tracing::info!(approval = %id, pid = pending.pid, "direct mode asks for approval");
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        let _ = app.emit(REQUESTED_EVENT, pending);
        // Withdraw the question once nobody waits for the answer.
        let approvals = Arc::clone(self);
        let app = app.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(300));
            let mut pending = lock(&approvals.pending);
            match pending.get(&id) {
                None => return,
                Some((_, asked)) if asked.gone() => {
                    pending.remove(&id);
                    drop(pending);
                    tracing::info!(approval = %id, "the asker gave up waiting");
                    let _ = app.emit(CLOSED_EVENT, ApprovalClosed { id });
                    return;
                }
                Some(_) => {}
            }
        });
    }

    /// The requests waiting now, oldest first.
    pub fn pending(&self) -> Vec<PendingApproval> {
        let mut all: Vec<PendingApproval> = lock(&self.pending)
            .values()
            .map(|(pending, _)| pending.clone())
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Gives the person's answer. `false` when the request is gone.
    pub fn answer(&self, app: &AppHandle, id: &str, approve: bool) -> bool {
        let Some((_, asked)) = lock(&self.pending).remove(id) else {
            return false;
        };
        tracing::info!(approval = %id, approve, "approval answered");
        asked.answer(approve);
        let _ = app.emit(CLOSED_EVENT, ApprovalClosed { id: id.to_string() });
        true
    }
}
