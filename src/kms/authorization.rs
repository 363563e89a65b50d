//! The authorization hook: the one place that decides whether a caller may perform an
//! action on a key. The dispatcher calls it once per request, after the key is resolved
//! and its state checked and before the operation runs; an operation that acts on a
//! second key (ReEncrypt's source key, UpdatePrimaryRegion's replica, UpdateAlias's
//! current target) asks again for that key through
//! [`super::operation::Call::authorize_also`].
//!
//! Until access control (key policies, IAM policies, grants) is evaluated, every request
//! is allowed.

use super::error::KmsResult;
use super::service::Kms;
use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};

/// May `caller` perform `action` (an IAM action such as `kms:Encrypt`) on `key` (`None`:
/// an action on no particular key, such as `kms:CreateKey` or `kms:ListKeys`)?
/// `conditions` computes the request's condition values (`kms:EncryptionContext:*`,
/// `kms:EncryptionAlgorithm`, …) when a policy needs them. A refusal is the error the
/// caller gets (AWS: AccessDeniedException).
pub fn authorize(
    _kms: &Kms,
    _caller: &RequestContext,
    _action: &'static str,
    _key: Option<&KeyRecord>,
    _conditions: &dyn Fn() -> ConditionValues,
) -> KmsResult<()> {
    Ok(())
}
