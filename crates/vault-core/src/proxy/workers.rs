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
//! Limits: a connection stays on its worker (a long SSE stream and busy
//! short requests may share one); a worker that panics in a task loses that
//! task only (Tokio catches it); a worker thread that cannot be started
//! makes the proxy refuse to start, with the OS's reason.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use tokio::runtime::Handle;

use crate::error::{Error, Result};

/// More threads than this would only take turns on typical laptops.
const MAX_WORKERS: usize = 8;

pub(crate) struct Workers {
    handles: Vec<Handle>,
    next: AtomicUsize,
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
            handles,
            next: AtomicUsize::new(0),
        })
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

fn worker_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_WORKERS)
}
