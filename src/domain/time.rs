//! Points in time as the service keeps them: seconds since the Unix epoch, the unit AWS
//! JSON uses on the wire (`CreationDate`, `DeletionDate`, `ValidTo`, …) and the unit the
//! metadata store has always written. [`Timestamp`] serialises as that same bare number,
//! so records written before it existed load unchanged.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Seconds in a day.
pub const DAY_SECONDS: f64 = 86_400.0;

/// A point in time: seconds since the Unix epoch (fractional, millisecond resolution
/// when it comes from the clock).
#[derive(Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(f64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0.0);

    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_secs(secs: f64) -> Timestamp {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn secs(self) -> f64 {
        self.0
    }

    /// This time moved `secs` seconds forward (backward when negative).
    pub fn plus_secs(self, secs: f64) -> Timestamp {
        Timestamp(self.0 + secs)
    }

    /// This time moved `days` days forward.
    pub fn plus_days(self, days: u32) -> Timestamp {
        self.plus_secs(f64::from(days) * DAY_SECONDS)
    }

    /// This time moved `ms` milliseconds forward.
    pub fn plus_millis(self, ms: u64) -> Timestamp {
        self.plus_secs(ms as f64 / 1000.0)
    }

    /// Seconds from `earlier` to this time (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.0 - earlier.0
    }

    /// The earlier of two times.
    pub fn min(self, other: Timestamp) -> Timestamp {
        if other.0 < self.0 {
            other
        } else {
            self
        }
    }

    /// ISO-8601 UTC to the second (`2026-11-23T15:52:11Z`), as CloudTrail writes times
    /// and as error messages name them.
    pub fn iso8601(self) -> String {
        chrono::DateTime::from_timestamp(self.0.floor() as i64, 0)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default()
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_bare_number_records_always_held() {
        let t = Timestamp::from_secs(1_700_000_000.123);
        assert_eq!(serde_json::to_string(&t).unwrap(), "1700000000.123");
        let back: Timestamp = serde_json::from_str("1700000000.123").unwrap();
        assert_eq!(back, t);
        let whole: Timestamp = serde_json::from_str("1700000000").unwrap();
        assert_eq!(whole.secs(), 1_700_000_000.0);
    }

    #[test]
    fn arithmetic_and_formatting() {
        let t = Timestamp::from_secs(0.0);
        assert_eq!(t.plus_days(1).secs(), 86_400.0);
        assert_eq!(t.plus_millis(1500).secs(), 1.5);
        assert_eq!(t.plus_days(2).secs_since(t.plus_days(1)), 86_400.0);
        assert!(t < t.plus_secs(0.001));
        assert_eq!(t.plus_secs(5.0).min(t), t);
        assert_eq!(
            Timestamp::from_secs(1_795_449_131.9).iso8601(),
            "2026-11-23T15:52:11Z"
        );
    }
}
