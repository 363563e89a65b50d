//! Retry bookkeeping for failed background jobs: a failed job waits 50 ms, doubling per
//! failure, at most 30 s. Kept in memory: after a restart every job is tried at once.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::domain::job::JobRecord;
use crate::domain::time::Timestamp;

/// When each failed job may run again, and how often it has failed.
#[derive(Default)]
pub struct Retries {
    next: Mutex<HashMap<String, (Timestamp, u32)>>,
}

impl Retries {
    /// Whether job `id` may run at `now`.
    pub fn ready(&self, id: &str, now: Timestamp) -> bool {
        self.next.lock().get(id).is_none_or(|(at, _)| *at <= now)
    }

    /// Job `id` failed at `now`: it waits longer before the next attempt.
    pub fn failed(&self, id: &str, now: Timestamp) {
        let mut next = self.next.lock();
        let attempts = next.get(id).map(|(_, n)| n + 1).unwrap_or(1);
        let delay = (0.05 * 2f64.powi(attempts.min(20) as i32)).min(30.0);
        next.insert(id.to_string(), (now.plus_secs(delay), attempts));
    }

    /// Job `id` succeeded: no more waiting for it.
    pub fn succeeded(&self, id: &str) {
        self.next.lock().remove(id);
    }

    /// When the earliest of `jobs` may next run (`None` when there are none).
    pub fn earliest<'a>(&self, jobs: impl Iterator<Item = &'a JobRecord>) -> Option<Timestamp> {
        let next = self.next.lock();
        jobs.map(|j| match next.get(&j.id) {
            Some((at, _)) if *at > j.due => *at,
            _ => j.due,
        })
        .reduce(Timestamp::min)
    }
}
