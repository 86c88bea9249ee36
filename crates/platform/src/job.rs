//! A session's process tree on Windows (docs/architecture.md, "Sessions"):
//! a Job Object that the agent is put in as soon as it is started. Every
//! process it starts is in the job from its first instruction (Windows puts
//! children in their parent's job), none may leave it (the job allows no
//! breakaway), and when the job's one handle closes — the session ends, is
//! stopped, or the Keybearer process that ran it dies in any way — Windows
//! ends every process in it (kill on job close). This is what Unix's
//! process group and `killpg` are for Linux and macOS, without their hole:
//! a process cannot leave a job the way one leaves a process group.
//!
//! Through `win32job` (a safe interface over the Job Object calls; the
//! workspace forbids `unsafe`). The job's handle is not inheritable, so no
//! process of the session holds it.
//!
//! Limits: the agent is put in the job right after it was created, not in
//! the same call (portable-pty creates it running; the attribute list that
//! would create it inside the job is not offered by a safe interface): for
//! the first moments of its life, before it has read a word of input, a
//! process it started would be outside the job. A program the user chose
//! does not do that, and a prompt-injected one is not yet injected. Stop
//! ends the tree at once: Windows has no SIGTERM to ask politely first.

use std::os::windows::io::AsRawHandle;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use win32job::{ExtendedLimitInfo, Job};

/// A Job Object holding one session's processes. Clones share it; the
/// tree ends when [`ProcessTree::end`] is called or the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct ProcessTree {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `None` once ended: the handle closed, the processes gone.
    job: Mutex<Option<Job>>,
}

/// The trees this process holds, so a question about any process (is it in
/// a session?) can be answered without the session manager.
fn registry() -> &'static Mutex<Vec<Weak<Inner>>> {
    static TREES: OnceLock<Mutex<Vec<Weak<Inner>>>> = OnceLock::new();
    TREES.get_or_init(|| Mutex::new(Vec::new()))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ProcessTree {
    /// An empty job that ends its processes when closed and lets none break away.
    pub fn new() -> std::io::Result<Self> {
        let mut limits = ExtendedLimitInfo::new();
        limits.limit_kill_on_job_close();
        let job = Job::create_with_limit_info(&limits)?;
        let inner = Arc::new(Inner {
            job: Mutex::new(Some(job)),
        });
        let mut trees = lock(registry());
        trees.retain(|tree| tree.strong_count() > 0);
        trees.push(Arc::downgrade(&inner));
        Ok(Self { inner })
    }

    /// Puts a started process (and so everything it starts from now on) in
    /// the tree.
    pub fn add(&self, process: &impl AsRawHandle) -> std::io::Result<()> {
        self.add_raw(process.as_raw_handle())
    }

    /// Like [`ProcessTree::add`] with a handle the caller keeps open.
    pub fn add_raw(&self, handle: std::os::windows::io::RawHandle) -> std::io::Result<()> {
        let job = lock(&self.inner.job);
        let job = job.as_ref().ok_or_else(ended)?;
        // The handle's value, as win32job takes it; it stays the caller's.
        Ok(job.assign_process(handle as isize)?)
    }

    /// The ids of the processes in the tree now (empty once ended).
    pub fn pids(&self) -> Vec<u32> {
        let job = lock(&self.inner.job);
        let Some(job) = job.as_ref() else {
            return Vec::new();
        };
        match job.query_process_id_list() {
            Ok(pids) => pids
                .into_iter()
                .filter_map(|pid| u32::try_from(pid).ok())
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "could not list a session's processes");
                Vec::new()
            }
        }
    }

    /// Whether any process of the tree still runs.
    pub fn alive(&self) -> bool {
        !self.pids().is_empty()
    }

    /// Ends every process of the tree now (idempotent).
    pub fn end(&self) {
        // Closing the only handle is what ends them (kill on job close).
        drop(lock(&self.inner.job).take());
    }
}

fn ended() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::BrokenPipe,
        "the session's processes were already ended",
    )
}

/// Whether `pid` is in a tree this process holds (a session it runs).
pub fn held_in_a_tree(pid: u32) -> bool {
    let trees: Vec<Arc<Inner>> = lock(registry()).iter().filter_map(Weak::upgrade).collect();
    trees
        .into_iter()
        .any(|inner| ProcessTree { inner }.pids().contains(&pid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_helper::Reports;
    use std::time::Duration;

    /// The agent and the grandchild it started are both in the tree, the
    /// grandchild could not leave it, and ending the tree ends both.
    #[test]
    fn ending_the_tree_ends_a_grandchild_too_and_none_breaks_away() {
        let reports = Reports::new();
        let tree = ProcessTree::new().expect("tree");
        let mut child = reports.spawn("tree", &[]);
        tree.add(&child).expect("add the child");
        let mut agent = reports.next();
        assert_eq!(agent.pid(), child.id());
        assert!(held_in_a_tree(child.id()));
        agent.send("go");
        let breakaway = agent.next_line();
        let mut grandchild = reports.next();
        assert_eq!(breakaway, "breakaway refused");
        let pids = tree.pids();
        assert!(pids.contains(&child.id()), "{pids:?}");
        assert!(pids.contains(&grandchild.pid()), "{pids:?}");
        assert!(tree.alive());

        tree.end();
        assert!(agent.ended_within(Duration::from_secs(10)), "the agent");
        assert!(
            grandchild.ended_within(Duration::from_secs(10)),
            "the grandchild"
        );
        child.wait().expect("wait");
        assert!(!tree.alive());
        assert!(!held_in_a_tree(child.id()));
        assert!(tree.add(&child).is_err(), "an ended tree takes nothing");
    }

    /// When the process holding the tree dies without a word (Keybearer
    /// killed), Windows ends the session's processes with it.
    #[test]
    fn the_tree_ends_when_its_holder_dies() {
        let reports = Reports::new();
        let mut owner = reports.spawn("owner", &[]);
        // The owner's child reports first (it is started before the owner reports).
        let mut first = reports.next();
        let mut second = reports.next();
        let (mut owner_report, mut held) = if first.pid() == owner.id() {
            (first, second)
        } else {
            std::mem::swap(&mut first, &mut second);
            (first, second)
        };
        assert_eq!(owner_report.pid(), owner.id());
        owner.kill().expect("kill the holder");
        owner.wait().expect("wait");
        assert!(owner_report.ended_within(Duration::from_secs(10)));
        assert!(
            held.ended_within(Duration::from_secs(10)),
            "the held process outlived its tree's holder"
        );
    }
}
