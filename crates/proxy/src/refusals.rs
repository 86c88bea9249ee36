//! Refused requests are logged with rate limiting: the first refusal of an
//! interval is logged with its reason, later ones only counted, and the
//! count is logged with the next refusal after the interval. Any local
//! program can send requests to a listener; none can grow the log without
//! bound (at most two lines per interval and listener).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub(crate) struct RefusalLog {
    /// Refusals not logged yet.
    unlogged: AtomicU64,
    last_logged: Mutex<Option<Instant>>,
}

impl RefusalLog {
    /// Counts a refusal; logs it when the interval allows.
    pub(crate) fn refused(&self, session_id: &str, reason: &'static str) {
        self.refused_at(session_id, reason, Instant::now());
    }

    fn refused_at(&self, session_id: &str, reason: &'static str, now: Instant) -> bool {
        let mut last = self
            .last_logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < INTERVAL) {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *last = Some(now);
        let earlier = self.unlogged.swap(0, Ordering::Relaxed);
        if earlier > 0 {
            tracing::warn!(
                session_id,
                refused = earlier,
                "more requests were refused since the last report"
            );
        }
        tracing::warn!(session_id, reason, "request refused");
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_at_most_once_an_interval() {
        let log = RefusalLog::default();
        let start = Instant::now();
        assert!(log.refused_at("s", "wrong secret", start));
        let logged = (1..1000)
            .filter(|n| log.refused_at("s", "wrong secret", start + Duration::from_millis(*n)))
            .count();
        assert_eq!(logged, 0);
        assert_eq!(log.unlogged.load(Ordering::Relaxed), 999);
        assert!(log.refused_at("s", "wrong secret", start + INTERVAL));
        assert_eq!(log.unlogged.load(Ordering::Relaxed), 0);
    }
}
