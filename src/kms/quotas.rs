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
//! ([`KeySlot`], in [`super::key_slots`] so that the service can hold the count without
//! depending on this module): the keys of a Region being created count in its usage until
//! [`Kms::commit_new_key`] turns the place into the committed key, or the creation fails
//! and the slot is dropped (an error or a panic alike) and gives the place back.

use super::error::{ErrorKind, KmsError, KmsResult};
use super::key_slots::KeySlot;
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::region::Region;

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
