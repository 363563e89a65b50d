//! The one clock every part of the server reads time from.
//!
//! Time is kept as fractional seconds since the Unix epoch (the unit AWS JSON uses on the
//! wire). An offset lets an operator move the clock forward (admin endpoint), so waiting
//! periods such as key deletion windows can be exercised in seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::time::Timestamp;

/// The largest forward offset: 1,000 years, in milliseconds.
pub const MAX_OFFSET_MS: u64 = 1_000 * 366 * 86_400_000;

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
        let ms = sys.saturating_add(self.offset_ms.load(Ordering::Relaxed));
        Timestamp::from_secs(ms as f64 / 1000.0)
    }

    /// Moves the clock forward by `seconds` (never backwards). The offset saturates at
    /// [`MAX_OFFSET_MS`]: no value, however large, overflows the arithmetic.
    pub fn advance(&self, seconds: f64) {
        if seconds > 0.0 && seconds.is_finite() {
            // `as` saturates a float that does not fit.
            let add = (seconds * 1000.0) as u64;
            let _ = self
                .offset_ms
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |ms| {
                    Some(ms.saturating_add(add).min(MAX_OFFSET_MS))
                });
        }
    }

    /// The current forward offset in seconds.
    pub fn offset_seconds(&self) -> f64 {
        self.offset_ms.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_saturates_instead_of_overflowing() {
        let clock = Clock::new();
        clock.advance(f64::MAX);
        clock.advance(1e300);
        clock.advance(f64::INFINITY);
        clock.advance(f64::NAN);
        clock.advance(-5.0);
        assert_eq!(clock.offset_seconds(), MAX_OFFSET_MS as f64 / 1000.0);
        assert!(clock.now().secs() > 0.0);
    }
}
