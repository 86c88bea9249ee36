//! The proxy's worker threads, nginx's model in one process: one thread per
//! core (at most [`MAX_WORKERS`]), each driving a single-threaded Tokio
//! runtime, started on first use and kept for the life of the process (idle
//! ones sleep in `epoll_wait`). A listener hands each accepted connection to
//! the next worker in turn; from then on everything the connection does —
//! reading the agent's requests, the token lookup, the request to the
//! upstream over that worker's own pooled connections (each worker has its
//! own client, so a pooled connection's task lives on the thread that uses
//! it), streaming the answer back — runs on that one thread. No request
//! waits for another thread to wake up, which on two cores was most of the
//! proxy's added latency (docs/architecture.md, "Proxy").
//!
//! While a worker serves connections it keeps one timer due within
//! [`TICK`] (a sleeping task): hyper sets a 30 s head timer for every
//! request, and Tokio wakes its own thread through an eventfd whenever a new
//! timer is due before every other one — with none pending, that was a write
//! and an extra epoll event per request at low load.
//!
//! Limits: a connection stays on its worker (a long SSE stream and busy
//! short requests may share one); a worker that panics in a task loses that
//! task only (Tokio catches it); a worker thread that cannot be started
//! makes the proxy refuse to start, with the OS's reason.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Handle;

use keybearer_base::error::{Error, Result};

/// More threads than this would only take turns on typical laptops.
const MAX_WORKERS: usize = 8;
/// How far ahead a busy worker keeps a timer (well under hyper's 30 s).
const TICK: Duration = Duration::from_secs(10);

pub(crate) struct Workers {
    handles: Vec<Handle>,
    busy: Vec<Busy>,
    next: AtomicUsize,
}

/// A worker's open connections, and whether its ticking task runs.
#[derive(Default)]
struct Busy {
    connections: AtomicUsize,
    ticking: AtomicBool,
}

/// Held by a connection while a worker serves it.
pub(crate) struct Serving {
    busy: &'static Busy,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.busy.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Workers {
    /// The process's workers, started by the first call.
    pub(crate) fn get() -> Result<&'static Workers> {
        static WORKERS: OnceLock<std::result::Result<Workers, String>> = OnceLock::new();
        WORKERS
            .get_or_init(|| Workers::start(worker_count()).map_err(|error| error.to_string()))
            .as_ref()
            .map_err(|reason| {
                Error::Io(std::io::Error::other(format!(
                    "the proxy's worker threads could not be started: {reason}"
                )))
            })
    }

    fn start(count: usize) -> std::io::Result<Self> {
        let mut handles = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("keybearer-proxy-{index}"))
                .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        }
        Ok(Self {
            busy: handles.iter().map(|_| Busy::default()).collect(),
            handles,
            next: AtomicUsize::new(0),
        })
    }

    /// Counts a connection on `worker` (call on that worker) until the
    /// answer is dropped, and keeps the worker's timer going meanwhile.
    pub(crate) fn serving(&'static self, worker: usize) -> Serving {
        let worker = worker % self.handles.len();
        let busy = &self.busy[worker];
        busy.connections.fetch_add(1, Ordering::AcqRel);
        if !busy.ticking.swap(true, Ordering::AcqRel) {
            self.handles[worker].spawn(tick(busy));
        }
        Serving { busy }
    }

    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }

    /// The worker the next connection goes to (round robin).
    pub(crate) fn next(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len()
    }

    pub(crate) fn handle(&self, worker: usize) -> &Handle {
        &self.handles[worker % self.handles.len()]
    }

    /// Runs `task` on worker `worker`.
    pub(crate) fn spawn<F>(&self, worker: usize, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle(worker).spawn(task)
    }
}

/// Sleeps [`TICK`] at a time while `busy` has connections.
async fn tick(busy: &'static Busy) {
    loop {
        tokio::time::sleep(TICK).await;
        if busy.connections.load(Ordering::Acquire) > 0 {
            continue;
        }
        busy.ticking.store(false, Ordering::Release);
        // A connection that came in meanwhile saw `ticking` still set and
        // started no task: go on for it, unless one was started since.
        if busy.connections.load(Ordering::Acquire) == 0
            || busy.ticking.swap(true, Ordering::AcqRel)
        {
            break;
        }
    }
}

fn worker_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_WORKERS)
}
