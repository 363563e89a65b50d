//! The one clock every part of the server reads time from.
//!
//! Time is kept as fractional seconds since the Unix epoch (the unit AWS JSON uses on the
//! wire). An offset lets an operator move the clock forward (admin endpoint), so waiting
//! periods such as key deletion windows can be exercised in seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::time::Timestamp;

/// Wall clock plus an operator-controlled forward offset.
#[derive(Debug, Default)]
pub struct Clock {
    /// Offset in milliseconds added to the system time.
    offset_ms: AtomicU64,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Current time in epoch seconds, millisecond resolution.
    pub fn now(&self) -> Timestamp {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let ms = sys + self.offset_ms.load(Ordering::Relaxed);
        Timestamp::from_secs(ms as f64 / 1000.0)
    }

    /// Moves the clock forward by `seconds` (never backwards).
    pub fn advance(&self, seconds: f64) {
        if seconds > 0.0 && seconds.is_finite() {
            self.offset_ms
                .fetch_add((seconds * 1000.0) as u64, Ordering::Relaxed);
        }
    }

    /// The current forward offset in seconds.
    pub fn offset_seconds(&self) -> f64 {
        self.offset_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
}
