//! Live per-server counters for the session view: how many requests the
//! agent sent through each listener and the status it got last. Lock-free,
//! updated on every request; never holds anything but numbers.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

#[derive(Debug, Default)]
pub(crate) struct ListenerStats {
    requests: AtomicU64,
    /// 0 until the first answer.
    last_status: AtomicU16,
}

impl ListenerStats {
    pub(crate) fn record(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.last_status.store(status, Ordering::Relaxed);
    }
}

/// One server of a session, as the proxy sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ServerActivity {
    pub upstream_url: String,
    pub local_url: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests: u64,
    /// The HTTP status of the last answer the agent got (from the server or
    /// the proxy itself), if any.
    pub last_status: Option<u16>,
}

/// A handle on a session proxy's counters that outlives nothing: it reads
/// the numbers while the proxy runs and keeps the last values after.
#[derive(Debug, Clone, Default)]
pub struct ProxyActivity(pub(crate) Vec<(String, String, Arc<ListenerStats>)>);

impl ProxyActivity {
    pub fn snapshot(&self) -> Vec<ServerActivity> {
        self.0
            .iter()
            .map(|(upstream_url, local_url, stats)| {
                let last = stats.last_status.load(Ordering::Relaxed);
                ServerActivity {
                    upstream_url: upstream_url.clone(),
                    local_url: local_url.clone(),
                    requests: stats.requests.load(Ordering::Relaxed),
                    last_status: (last != 0).then_some(last),
                }
            })
            .collect()
    }
}
