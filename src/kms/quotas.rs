//! AWS's resource quotas (the guide's "Resource quotas" page), each a setting with AWS's
//! default, each refused with LimitExceededException in AWS's words. Grants per key
//! (`max_grants_per_key`) is checked by CreateGrant itself, under the metadata write lock
//! with its commit.
//!
//! AWS's messages, as AWS sends them: "Key quota for this account in this region is 100000
//! but the current usage is 100000." and "Aliases per key quota for this account in this
//! region is 50, current usage is 50."
//!
//! A burst cannot overshoot a quota. Aliases are metadata only: CreateAlias and
//! UpdateAlias check and commit under the metadata write lock. A key is not: CreateKey
//! generates its material in the token between the check and the commit, which must not
//! hold a lock that would serialise every CreateKey. So [`check_new_key`] reserves a place
//! ([`KeySlot`]): the keys of a Region being created count in its usage until
//! [`Kms::commit_new_key`] turns the place into the committed key, or the creation fails
//! and the slot is dropped (an error or a panic alike) and gives the place back.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::error::{ErrorKind, KmsError, KmsResult};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::region::Region;

/// The keys being created in each Region: places taken by [`check_new_key`], not yet
/// committed nor given back.
#[derive(Default)]
pub struct Creations {
    in_flight: Mutex<HashMap<Region, usize>>,
}

impl Creations {
    /// Takes a place in `region`, which has `committed` keys, unless they and the keys
    /// being created reach `quota`: then the usage that did.
    fn reserve(
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

/// A place for one new key in a Region's key quota, taken by [`check_new_key`]. Dropping it
/// gives the place back; [`Kms::commit_new_key`] drops it in the same step that makes the
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

/// Refuses a new KMS key in `region` when the Region holds `keys_per_region` keys (in any
/// key state, as AWS counts them) or keys being created; otherwise takes a place for it,
/// held until the returned slot is committed ([`Kms::commit_new_key`]) or dropped.
///
/// The usage in the message counts the keys being created with the committed ones: it is
/// what the check compared with the quota, so the message always reads as the reason
/// (usage at the quota), and a key being created takes its place as surely as one
/// committed unless its creation fails.
pub fn check_new_key(kms: &Kms, region: Region) -> KmsResult<KeySlot<'_>> {
    let quota = kms.config.limits.keys_per_region;
    // The state's read lock is held while the place is taken: Kms::commit_new_key makes a
    // key visible and gives its place back under the write lock, in one step.
    let state = kms.state();
    let committed = state.keys.get(&region).map_or(0, |m| m.len());
    kms.creations.reserve(region, committed, quota).map_err(|usage| {
        KmsError::new(
            ErrorKind::LimitExceeded,
            format!(
                "Key quota for this account in this region is {quota} but the current usage is {usage}."
            ),
        )
    })
}

/// Refuses one more alias for `key_id` in `region` when it has `aliases_per_key` already.
/// Called under the metadata write lock, held until the alias is committed: no other
/// alias can be added between the check and the commit.
pub fn check_new_alias(kms: &Kms, region: Region, key_id: &KeyId) -> KmsResult<()> {
    let quota = kms.config.limits.aliases_per_key;
    let usage = kms
        .state()
        .aliases
        .get(&region)
        .map_or(0, |m| m.values().filter(|a| &a.target == key_id).count());
    if usage >= quota {
        return Err(KmsError::new(
            ErrorKind::LimitExceeded,
            format!(
                "Aliases per key quota for this account in this region is {quota}, current usage is {usage}."
            ),
        ));
    }
    Ok(())
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
