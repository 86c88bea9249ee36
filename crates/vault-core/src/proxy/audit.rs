//! `credential.used` events, written off the request path: a request hands
//! its record to a bounded channel and moves on; a writer task (on a proxy
//! worker) wakes for the first record, sleeps [`BATCH_WINDOW`] while more
//! arrive (so a busy session does not wake it once per request), then
//! writes what came in one transaction on a blocking thread, through its own
//! database connection (a [`UsageRecorder`]), so the commit's fsync never
//! holds a request or the engine that token lookups need. When every sender
//! is gone (the session stopped), the rest is written and the task ends.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::workers::Workers;
use crate::usage::{CredentialUse, UsageRecorder};

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
    pub(crate) fn start(recorder: UsageRecorder, workers: &Workers) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(BACKLOG);
        let writer = workers.spawn(workers.next(), write_batches(recorder, receiver));
        (Self { sender }, writer)
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

async fn write_batches(recorder: UsageRecorder, mut receiver: mpsc::Receiver<CredentialUse>) {
    let mut recorder = Some(recorder);
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        // A full batch (a busy session catching up) is written at once.
        if receiver.len() + 1 < MAX_BATCH && !receiver.is_closed() {
            tokio::time::sleep(BATCH_WINDOW).await;
        }
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(used) => batch.push(used),
                Err(_) => break,
            }
        }
        let Some(mut writer) = recorder.take() else {
            tracing::warn!(
                count = batch.len(),
                "the audit writer is gone; credential uses not recorded"
            );
            continue;
        };
        let count = batch.len();
        let written = tokio::task::spawn_blocking(move || {
            let result = writer.record(&batch);
            (writer, result)
        })
        .await;
        match written {
            Ok((writer, result)) => {
                recorder = Some(writer);
                match result {
                    Ok(()) => tracing::debug!(count, "credential uses recorded"),
                    Err(error) => tracing::warn!(
                        count,
                        code = %error.code(),
                        %error,
                        "credential uses could not be recorded"
                    ),
                }
            }
            Err(_) => tracing::warn!(count, "the audit writer stopped"),
        }
    }
}
