//! Recording the bridge's uses (docs/architecture.md, "The bridge"): every
//! request that carried the credential is one `credential.used` record,
//! written on a thread of its own so the relay never waits for the database.
//!
//! Flow: a request gets a [`Pending`] use as soon as its credential is
//! chosen (the token is on its way); the answer's status is set on it when
//! the answer's head arrives, and the use is handed to the recorder when the
//! `Pending` is done with — answered, failed, or dropped because the request
//! was stopped first (the app left, or cancelled it): then it is recorded
//! without a status and with a note saying so. Each `Pending` holds a sender
//! of its own, so the recorder ends only once every request is recorded,
//! whatever order the app's leaving and the answers come in.
//!
//! Limits: a process killed outright (SIGKILL) loses the uses not yet
//! written.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use keybearer_source::{CredentialUse, UsageSink};

/// Where uses are sent, until the bridge stops recording.
pub(crate) type Usage = Arc<Mutex<Option<Sender<CredentialUse>>>>;

/// The note of a request stopped before its answer came.
pub(crate) const NO_ANSWER: &str =
    "no answer: the request was stopped before the server answered (the app left or cancelled it)";

/// A new channel: what the link sends to, and the recorder's thread.
pub(crate) fn start(recorder: Box<dyn UsageSink>) -> (Usage, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel();
    (
        Arc::new(Mutex::new(Some(sender))),
        record(recorder, receiver),
    )
}

/// Writes uses on a thread of its own, a batch per wake-up, until every
/// sender is gone.
fn record(mut recorder: Box<dyn UsageSink>, receiver: Receiver<CredentialUse>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            batch.extend(receiver.try_iter());
            if let Err(error) = recorder.record(&batch) {
                tracing::warn!(code = %error.code(), %error, "bridge: uses not recorded");
            }
        }
    })
}

/// One request's use, recorded when dropped.
pub(crate) struct Pending {
    used: CredentialUse,
    sender: Option<Sender<CredentialUse>>,
}

impl Pending {
    /// `used`, to be recorded through `usage` (nowhere once the bridge has
    /// stopped recording).
    pub(crate) fn new(usage: &Usage, used: CredentialUse) -> Self {
        let sender = usage.lock().ok().and_then(|usage| usage.clone());
        Self { used, sender }
    }

    pub(crate) fn used(&self) -> &CredentialUse {
        &self.used
    }

    pub(crate) fn used_mut(&mut self) -> &mut CredentialUse {
        &mut self.used
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let Some(sender) = self.sender.take() else {
            return;
        };
        let mut used = self.used.clone();
        if used.status.is_none() && used.detail.is_none() {
            used.detail = Some(NO_ANSWER.into());
        }
        // The recorder thread ended: the trail is lost, the request is not.
        let _ = sender.send(used);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keybearer_base::model::Timestamp;
    use keybearer_source::UseKind;

    fn a_use() -> CredentialUse {
        CredentialUse {
            credential_id: "cred".into(),
            vault_id: "vault".into(),
            upstream_url: "https://example.com/mcp".into(),
            session_id: None,
            connection_id: Some("con".into()),
            method: Some("POST".into()),
            status: None,
            detail: None,
            at: Timestamp::now(),
            count: 1,
            kind: UseKind::Used,
        }
    }

    #[test]
    fn a_pending_use_is_sent_once_when_dropped_even_after_the_link_let_go() {
        let (sender, receiver) = mpsc::channel();
        let usage: Usage = Arc::new(Mutex::new(Some(sender)));
        let mut answered = Pending::new(&usage, a_use());
        let stopped = Pending::new(&usage, a_use());
        answered.used_mut().status = Some(200);
        // The link stops recording (the app left) before either is done.
        usage.lock().expect("usage").take();
        drop(answered);
        drop(stopped);
        let got: Vec<CredentialUse> = receiver.iter().collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].status, got[0].detail.as_deref()), (Some(200), None));
        assert_eq!(
            (got[1].status, got[1].detail.as_deref()),
            (None, Some(NO_ANSWER))
        );
    }

    #[test]
    fn nothing_is_sent_once_recording_stopped_before_the_request() {
        let (sender, receiver) = mpsc::channel();
        let usage: Usage = Arc::new(Mutex::new(Some(sender)));
        usage.lock().expect("usage").take();
        drop(Pending::new(&usage, a_use()));
        assert_eq!(receiver.iter().count(), 0);
    }
}
