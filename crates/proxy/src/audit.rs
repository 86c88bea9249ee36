//! `credential.used` events (and `credential.echoed`, an answer that
//! repeated the credential), counted off the request path: a request adds
//! one to its kind of use in a small in-memory tally (same credential,
//! server, method, status and note: a few entries, compared by pointer
//! first) and moves on — no allocation, no channel, no wake-up but the
//! first of a window. A writer task (on a proxy worker) wakes for the
//! window's first use, sleeps [`BATCH_WINDOW`] while more are counted,
//! takes the tally and writes one event per kind of use, with its count and
//! its first use's time, in one transaction on a blocking thread through
//! its own database connection (a usage sink: the local store's `UsageRecorder`), so the commit's fsync
//! never holds a request or the token lookups. A session serving thousands
//! of requests a second writes a handful of rows per window, not one per
//! request. When the last [`AuditLog`] is dropped (the session stopped), the
//! rest is written and the task ends.
//!
//! Limits: memory is bounded by [`MAX_KINDS`] kinds of use per window (past
//! it, uses are counted as lost and said so in the log once per window); a
//! process that dies loses at most the current window's counts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http::{Method, StatusCode};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::workers::Workers;
use keybearer_base::model::Timestamp;
use keybearer_source::{CredentialIds, CredentialUse, UsageSink, UseKind};

/// Where the windows are written.
type Recorder = Box<dyn UsageSink>;

const BATCH_WINDOW: Duration = Duration::from_millis(200);
/// Kinds of use one window keeps (a session has a few: its servers times
/// the statuses they answer).
const MAX_KINDS: usize = 1024;

/// A session's audit trail; clones share it. Dropping the last one ends the
/// writer after it wrote what was counted.
#[derive(Clone)]
pub(crate) struct AuditLog {
    shared: Arc<Shared>,
    _open: Arc<Open>,
}

struct Shared {
    session_id: Arc<str>,
    tally: Mutex<Tally>,
    /// Wakes the writer: a window's first use, or the log's end.
    wake: Notify,
    closed: AtomicBool,
}

#[derive(Default)]
struct Tally {
    uses: Vec<Counted>,
    /// Uses that found no room this window.
    lost: u64,
}

/// One kind of use and how many times it happened this window.
struct Counted {
    ids: Arc<CredentialIds>,
    upstream_url: Arc<str>,
    method: Method,
    status: Option<StatusCode>,
    detail: Option<&'static str>,
    first_at: Timestamp,
    count: u32,
    kind: UseKind,
}

impl Counted {
    fn is(
        &self,
        kind: UseKind,
        ids: &Arc<CredentialIds>,
        upstream_url: &Arc<str>,
        method: &Method,
        status: Option<StatusCode>,
        detail: Option<&'static str>,
    ) -> bool {
        // A full `u32` starts a new record rather than wrapping.
        self.count < u32::MAX
            && self.kind == kind
            && self.status == status
            && self.method == *method
            && self.detail == detail
            && (Arc::ptr_eq(&self.ids, ids) || self.ids == *ids)
            && (Arc::ptr_eq(&self.upstream_url, upstream_url) || self.upstream_url == *upstream_url)
    }
}

/// Held by every [`AuditLog`] clone: the last one dropped tells the writer.
struct Open(Arc<Shared>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.wake.notify_one();
    }
}

impl AuditLog {
    /// Starts the writer task; it runs until every `AuditLog` clone is dropped.
    pub(crate) fn start(
        recorder: Recorder,
        session_id: Arc<str>,
        workers: &Workers,
    ) -> (Self, JoinHandle<()>) {
        let shared = Arc::new(Shared {
            session_id,
            tally: Mutex::new(Tally::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        let writer = workers.spawn(workers.next(), write_windows(Arc::clone(&shared), recorder));
        let open = Arc::new(Open(Arc::clone(&shared)));
        (
            Self {
                shared,
                _open: open,
            },
            writer,
        )
    }

    /// Counts one request that used credential `ids` (`status`: the
    /// upstream's, `None` when none came; `detail`: a short note for a
    /// failure). Never waits but for the tally's lock, held for a few
    /// comparisons.
    pub(crate) fn record(
        &self,
        ids: &Arc<CredentialIds>,
        upstream_url: &Arc<str>,
        method: &Method,
        status: Option<StatusCode>,
        detail: Option<&'static str>,
    ) {
        self.count(UseKind::Used, ids, upstream_url, method, status, detail);
    }

    /// Counts one answer (to a request that used `ids`) that repeated an
    /// injected secret, covered before the agent saw it; `place`: where
    /// (`status line`, `headers`, `body`, trailers counting as the body).
    pub(crate) fn echoed(
        &self,
        ids: &Arc<CredentialIds>,
        upstream_url: &Arc<str>,
        method: &Method,
        status: StatusCode,
        place: &'static str,
    ) {
        self.count(
            UseKind::Echoed,
            ids,
            upstream_url,
            method,
            Some(status),
            Some(place),
        );
    }

    fn count(
        &self,
        kind: UseKind,
        ids: &Arc<CredentialIds>,
        upstream_url: &Arc<str>,
        method: &Method,
        status: Option<StatusCode>,
        detail: Option<&'static str>,
    ) {
        let first_of_window = {
            let mut tally = lock(&self.shared.tally);
            let first = tally.uses.is_empty() && tally.lost == 0;
            let kinds = tally.uses.len();
            let found = tally
                .uses
                .iter_mut()
                .find(|counted| counted.is(kind, ids, upstream_url, method, status, detail));
            match found {
                Some(counted) => counted.count += 1,
                None if kinds < MAX_KINDS => tally.uses.push(Counted {
                    ids: Arc::clone(ids),
                    upstream_url: Arc::clone(upstream_url),
                    method: method.clone(),
                    status,
                    detail,
                    first_at: Timestamp::now(),
                    count: 1,
                    kind,
                }),
                None => tally.lost += 1,
            }
            first
        };
        if first_of_window {
            self.shared.wake.notify_one();
        }
    }
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    // Nothing is left half-done under the lock; a panic elsewhere while
    // holding it does not make the counts wrong.
    tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn write_windows(shared: Arc<Shared>, recorder: Recorder) {
    let mut recorder = Some(recorder);
    loop {
        shared.wake.notified().await;
        if !shared.closed.load(Ordering::Acquire) {
            tokio::time::sleep(BATCH_WINDOW).await;
        }
        // Read before taking the tally: once closed, nothing more is counted.
        let closed = shared.closed.load(Ordering::Acquire);
        let Tally { uses, lost } = std::mem::take(&mut *lock(&shared.tally));
        if lost > 0 {
            tracing::warn!(
                lost,
                "too many kinds of credential use in one audit window; some were not recorded"
            );
        }
        if !uses.is_empty() {
            let batch = records(&shared.session_id, uses);
            recorder = write(recorder, batch).await;
        }
        if closed {
            break;
        }
    }
}

fn records(session_id: &str, uses: Vec<Counted>) -> Vec<CredentialUse> {
    uses.into_iter()
        .map(|counted| CredentialUse {
            credential_id: counted.ids.credential_id.clone(),
            vault_id: counted.ids.vault_id.clone(),
            upstream_url: counted.upstream_url.to_string(),
            session_id: Some(session_id.to_string()),
            connection_id: None,
            method: Some(counted.method.as_str().to_string()),
            status: counted.status.map(|status| i64::from(status.as_u16())),
            detail: counted.detail.map(str::to_string),
            at: counted.first_at,
            count: counted.count,
            kind: counted.kind,
        })
        .collect()
}

/// Writes `batch` on a blocking thread; answers the recorder for the next
/// window (`None` once it is gone).
async fn write(recorder: Option<Recorder>, batch: Vec<CredentialUse>) -> Option<Recorder> {
    let requests: u64 = batch.iter().map(|used| u64::from(used.count)).sum();
    let Some(mut writer) = recorder else {
        tracing::warn!(
            requests,
            "the audit writer is gone; credential uses not recorded"
        );
        return None;
    };
    let written = tokio::task::spawn_blocking(move || {
        let result = writer.record(&batch);
        (writer, result)
    })
    .await;
    match written {
        Ok((writer, result)) => {
            match result {
                Ok(()) => tracing::debug!(requests, "credential uses recorded"),
                Err(error) => tracing::warn!(
                    requests,
                    code = %error.code(),
                    %error,
                    "credential uses could not be recorded"
                ),
            }
            Some(writer)
        }
        Err(_) => {
            tracing::warn!(requests, "the audit writer stopped");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ids(credential: &str) -> Arc<CredentialIds> {
        Arc::new(CredentialIds {
            credential_id: credential.into(),
            vault_id: "vlt_a".into(),
        })
    }

    fn log() -> AuditLog {
        let shared = Arc::new(Shared {
            session_id: "sesn_a".into(),
            tally: Mutex::new(Tally::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        AuditLog {
            _open: Arc::new(Open(Arc::clone(&shared))),
            shared,
        }
    }

    #[test]
    fn alike_uses_are_counted_into_one_record_and_others_kept_apart() {
        let log = log();
        let url: Arc<str> = "https://mcp.example.com/mcp".into();
        let (one, other) = (ids("crd_1"), ids("crd_2"));
        for _ in 0..1000 {
            log.record(&one, &url, &Method::POST, Some(StatusCode::OK), None);
        }
        // The same ids in another allocation (a token opened again) still count together.
        log.record(
            &ids("crd_1"),
            &url,
            &Method::POST,
            Some(StatusCode::OK),
            None,
        );
        log.record(&one, &url, &Method::POST, Some(StatusCode::ACCEPTED), None);
        log.record(&one, &url, &Method::GET, Some(StatusCode::OK), None);
        log.record(&other, &url, &Method::POST, Some(StatusCode::OK), None);
        log.record(&one, &url, &Method::POST, None, Some("no response"));
        let uses = std::mem::take(&mut lock(&log.shared.tally).uses);
        let records = records("sesn_a", uses);
        let counts: Vec<(&str, &str, Option<i64>, u32)> = records
            .iter()
            .map(|used| {
                (
                    used.credential_id.as_str(),
                    used.method.as_deref().unwrap(),
                    used.status,
                    used.count,
                )
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("crd_1", "POST", Some(200), 1001),
                ("crd_1", "POST", Some(202), 1),
                ("crd_1", "GET", Some(200), 1),
                ("crd_2", "POST", Some(200), 1),
                ("crd_1", "POST", None, 1),
            ]
        );
        assert_eq!(records[4].detail.as_deref(), Some("no response"));
        assert!(records
            .iter()
            .all(|used| used.session_id.as_deref() == Some("sesn_a")));
    }

    #[test]
    fn a_window_keeps_a_bounded_number_of_kinds_and_counts_the_rest_as_lost() {
        let log = log();
        let one = ids("crd_1");
        for index in 0..MAX_KINDS + 10 {
            let url: Arc<str> = format!("https://mcp.example.com/{index}").into();
            log.record(&one, &url, &Method::POST, Some(StatusCode::OK), None);
        }
        let tally = lock(&log.shared.tally);
        assert_eq!(tally.uses.len(), MAX_KINDS);
        assert_eq!(tally.lost, 10);
    }

    #[test]
    fn the_first_use_of_a_window_wakes_the_writer_and_the_last_clone_closes_it() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let log = log();
        let shared = Arc::clone(&log.shared);
        let url: Arc<str> = "https://mcp.example.com/mcp".into();
        log.record(
            &ids("crd_1"),
            &url,
            &Method::POST,
            Some(StatusCode::OK),
            None,
        );
        // The permit is there: a writer waiting now wakes at once.
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), shared.wake.notified())
                .await
                .expect("woken by the first use");
        });
        let clone = log.clone();
        drop(log);
        assert!(!shared.closed.load(Ordering::Acquire));
        drop(clone);
        assert!(shared.closed.load(Ordering::Acquire));
    }
}
