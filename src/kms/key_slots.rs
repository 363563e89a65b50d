//! Places in a Region's key quota taken by keys being created ([`super::quotas`] takes
//! them; [`super::service::Kms::commit_new_key`] turns one into a committed key). Apart
//! from the quotas so that the service can hold the count without depending on them.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::domain::region::Region;

/// The keys being created in each Region: places taken by
/// [`super::quotas::check_new_key`], not yet committed nor given back.
#[derive(Default)]
pub struct Creations {
    in_flight: Mutex<HashMap<Region, usize>>,
}

impl Creations {
    /// Takes a place in `region`, which has `committed` keys, unless they and the keys
    /// being created reach `quota`: then the usage that did.
    pub(super) fn reserve(
        &self,
        region: Region,
        committed: usize,
        quota: usize,
    ) -> Result<KeySlot<'_>, usize> {
        let mut in_flight = self.in_flight.lock();
        let creating = in_flight.entry(region).or_default();
        let usage = committed + *creating;
        if usage >= quota {
            return Err(usage);
        }
        *creating += 1;
        Ok(KeySlot {
            creations: self,
            region,
        })
    }
}

/// A place for one new key in a Region's key quota, taken by [`super::quotas::check_new_key`]. Dropping it
/// gives the place back; [`super::service::Kms::commit_new_key`] drops it in the same step that makes the
/// key visible, so a check never counts a key twice, nor misses it.
#[must_use = "the place is given back when the slot is dropped"]
pub struct KeySlot<'a> {
    creations: &'a Creations,
    region: Region,
}

impl Drop for KeySlot<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.creations.in_flight.lock();
        if let Some(n) = in_flight.get_mut(&self.region) {
            *n = n.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> Region {
        Region::parse(name).expect("catalogue")
    }

    fn in_flight(c: &Creations) -> usize {
        c.in_flight
            .lock()
            .get(&region("us-east-1"))
            .copied()
            .unwrap_or(0)
    }

    #[test]
    fn keys_being_created_count_until_their_slot_is_dropped() {
        let c = Creations::default();
        let r = region("us-east-1");
        let a = c.reserve(r, 1, 3).expect("a second key");
        let b = c.reserve(r, 1, 3).expect("a third key");
        assert_eq!(c.reserve(r, 1, 3).err(), Some(3), "committed and in flight");
        // Another Region has its own places.
        drop(
            c.reserve(region("eu-west-1"), 0, 1)
                .expect("another Region"),
        );
        drop(a);
        assert_eq!(in_flight(&c), 1);
        let again = c.reserve(r, 1, 3).expect("the place given back");
        drop((b, again));
        assert_eq!(in_flight(&c), 0);
    }

    #[test]
    fn a_creation_that_panics_gives_its_place_back() {
        let c = Creations::default();
        let r = region("us-east-1");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _slot = c.reserve(r, 0, 1).expect("the only place");
            panic!("key generation failed");
        }));
        assert!(panicked.is_err());
        assert_eq!(in_flight(&c), 0);
        assert!(c.reserve(r, 0, 1).is_ok());
    }
}
