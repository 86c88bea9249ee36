//! `credential.used` events, written off the request path: a request hands
//! its record to a channel and moves on; a writer task collects what arrives
//! within [`BATCH_WINDOW`] and writes it in one transaction on a blocking
//! thread. When every sender is gone (the session stopped), the rest is
//! written and the task ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{CredentialUse, Engine};

const BATCH_WINDOW: Duration = Duration::from_millis(200);
const MAX_BATCH: usize = 512;
/// Records waiting for the writer; past this, records are dropped (and said
/// so in the log) rather than slowing requests down or growing without bound.
const BACKLOG: usize = 8192;

#[derive(Clone)]
pub(crate) struct AuditLog {
    sender: mpsc::Sender<CredentialUse>,
}

impl AuditLog {
    /// Starts the writer task; it runs until every `AuditLog` clone is dropped.
    pub(crate) fn start(engine: Arc<Mutex<Engine>>) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(BACKLOG);
        (
            Self { sender },
            tokio::spawn(write_batches(engine, receiver)),
        )
    }

    /// Never waits.
    pub(crate) fn record(&self, used: CredentialUse) {
        if let Err(error) = self.sender.try_send(used) {
            tracing::warn!(
                credential_id = %error.into_inner().credential_id,
                "audit backlog is full; a credential use was not recorded"
            );
        }
    }
}

async fn write_batches(engine: Arc<Mutex<Engine>>, mut receiver: mpsc::Receiver<CredentialUse>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let window = tokio::time::sleep(BATCH_WINDOW);
        tokio::pin!(window);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                next = receiver.recv() => match next {
                    Some(used) => batch.push(used),
                    None => break,
                },
                () = &mut window => break,
            }
        }
        write(&engine, batch).await;
    }
}

async fn write(engine: &Arc<Mutex<Engine>>, batch: Vec<CredentialUse>) {
    let engine = Arc::clone(engine);
    let count = batch.len();
    let written = tokio::task::spawn_blocking(move || {
        let mut engine = engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        engine.record_credential_uses(&batch)
    })
    .await;
    match written {
        Ok(Ok(())) => tracing::debug!(count, "credential uses recorded"),
        Ok(Err(error)) => {
            tracing::warn!(count, code = error.code(), %error, "credential uses could not be recorded")
        }
        Err(_) => tracing::warn!(count, "the audit writer stopped"),
    }
}
