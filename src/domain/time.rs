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
        match self.iso8601_bytes() {
            Some(b) => String::from_utf8_lossy(&b).into_owned(),
            None => chrono::DateTime::from_timestamp(self.0.floor() as i64, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
        }
    }

    /// [`Timestamp::iso8601`] as 20 ASCII bytes, computed without a formatter (the audit
    /// log writes one per call); `None` outside the years 0000 to 9999.
    pub fn iso8601_bytes(self) -> Option<[u8; 20]> {
        let secs = self.0.floor();
        // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
        if !(-62_167_219_200.0..=253_402_300_799.0).contains(&secs) {
            return None;
        }
        let secs = secs as i64;
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, value: i64, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                out[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year, 4);
        put(5, month, 2);
        put(8, day, 2);
        put(11, of_day / 3600, 2);
        put(14, of_day % 3600 / 60, 2);
        put(17, of_day % 60, 2);
        Some(out)
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn iso8601_without_a_formatter_is_chronos_format() {
        let chrono_format = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default()
        };
        // Leap days, century and 400-year rules, the epoch, negative times, the ends.
        let mut times = vec![
            0,
            -1,
            951_782_400,
            951_868_799,
            4_107_542_400,
            -2_208_988_800,
            -62_167_219_200,
            253_402_300_799,
            1_795_449_131,
        ];
        let mut t: i64 = -62_167_219_200;
        while t < 253_402_300_799 {
            times.push(t);
            t += 7_777_777 + t.rem_euclid(86_399);
        }
        for secs in times {
            let ts = Timestamp::from_secs(secs as f64 + 0.25);
            assert_eq!(ts.iso8601(), chrono_format(secs), "{secs}");
            let bytes = ts.iso8601_bytes().expect("in range");
            assert_eq!(std::str::from_utf8(&bytes).unwrap(), chrono_format(secs));
        }
        assert_eq!(
            Timestamp::from_secs(-62_167_219_201.0).iso8601_bytes(),
            None
        );
        assert_eq!(
            Timestamp::from_secs(253_402_300_800.0).iso8601_bytes(),
            None
        );
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
