//! AWS's resource quotas (the guide's "Resource quotas" page), each a setting with AWS's
//! default, each refused with LimitExceededException in AWS's words. Grants per key
//! (`max_grants_per_key`) is checked by CreateGrant itself.
//!
//! AWS's messages, as AWS sends them: "Key quota for this account in this region is 100000
//! but the current usage is 100000." and "Aliases per key quota for this account in this
//! region is 50, current usage is 50."

use super::error::{ErrorKind, KmsError, KmsResult};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::region::Region;

/// Refuses a new KMS key in `region` when the Region holds `keys_per_region` keys (in any
/// key state, as AWS counts them). Called under the metadata write lock.
pub fn check_new_key(kms: &Kms, region: Region) -> KmsResult<()> {
    let quota = kms.config.limits.keys_per_region;
    let usage = kms.state().keys.get(&region).map_or(0, |m| m.len());
    if usage >= quota {
        return Err(KmsError::new(
            ErrorKind::LimitExceeded,
            format!(
                "Key quota for this account in this region is {quota} but the current usage is {usage}."
            ),
        ));
    }
    Ok(())
}

/// Refuses one more alias for `key_id` in `region` when it has `aliases_per_key` already.
/// Called under the metadata write lock.
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
