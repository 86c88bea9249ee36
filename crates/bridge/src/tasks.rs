//! The bridge's work under way (docs/architecture.md, "The bridge"): each
//! request the app sent runs as a task of [`Tasks::request`], each event
//! stream it keeps open as one of [`Tasks::stream`], so that when the app
//! leaves (end of stdin, SIGTERM) the bridge knows what is still running.
//!
//! Flow at the end: [`Tasks::finish`] stops the streams at once (left
//! running, a stream would reopen — and renew an expired grant — in a
//! process about to be killed), gives the requests a short grace to get
//! their answers (which still reach the app if it reads on), then stops
//! the rest. A stopped request's use is recorded all the same (`usage.rs`).
//! Every task has ended when `finish` returns, so nothing holds the app's
//! output or the recorder open any longer.
//!
//! Limits: the grace is one figure for every request; a request stopped
//! after the server received it may still be carried out by the server.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Default)]
pub(crate) struct Tasks {
    requests: Group,
    streams: Group,
}

#[derive(Default)]
struct Group {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Group {
    fn spawn<F>(&self, work: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let stop = self.stop.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = work => {}
            }
        })
    }

    async fn stop(&self) {
        self.tracker.close();
        self.stop.cancel();
        self.tracker.wait().await;
    }
}

impl Tasks {
    /// Runs one of the app's requests.
    pub(crate) fn request<F>(&self, work: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.requests.spawn(work)
    }

    /// Keeps an event stream open.
    pub(crate) fn stream<F>(&self, work: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.streams.spawn(work)
    }

    /// The app is gone: streams stop now, requests get `grace` to finish.
    /// Anything started after this is stopped at once.
    pub(crate) async fn finish(&self, grace: Duration) {
        self.streams.stop().await;
        self.requests.tracker.close();
        let _ = tokio::time::timeout(grace, self.requests.tracker.wait()).await;
        self.requests.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    #[tokio::test]
    async fn finish_waits_for_quick_requests_stops_slow_ones_and_streams_at_once() {
        let tasks = Tasks::default();
        let done = Arc::new(AtomicU32::new(0));
        let quick = Arc::clone(&done);
        tasks.request(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            quick.fetch_add(1, Ordering::SeqCst);
        });
        let slow = Arc::clone(&done);
        tasks.request(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            slow.fetch_add(100, Ordering::SeqCst);
        });
        tasks.stream(std::future::pending());
        let start = Instant::now();
        tasks.finish(Duration::from_millis(300)).await;
        let took = start.elapsed();
        assert_eq!(
            done.load(Ordering::SeqCst),
            1,
            "the quick one finished, the slow one was stopped"
        );
        assert!(took < Duration::from_secs(5), "{took:?}");
        // Started after the end: stopped at once.
        let late = Arc::clone(&done);
        tasks
            .request(async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                late.fetch_add(1000, Ordering::SeqCst);
            })
            .await
            .expect("joined");
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }
}
