//! Routes an operation name (the part of `X-Amz-Target` after `TrentService.`) to the
//! file under `operations/` that serves it.

use serde_json::Value;

use super::error::{KmsError, KmsResult};
use super::operations as ops;
use super::{Kms, RequestContext};

/// An operation's entry point.
pub type Handler = fn(&Kms, &RequestContext, Value) -> KmsResult<Value>;

/// Every operation hsm-kms serves.
pub const OPERATIONS: &[(&str, Handler)] = &[
    ("CancelKeyDeletion", ops::cancel_key_deletion::handle),
    ("CreateAlias", ops::create_alias::handle),
    ("CreateKey", ops::create_key::handle),
    ("Decrypt", ops::decrypt::handle),
    ("DeleteAlias", ops::delete_alias::handle),
    ("DescribeKey", ops::describe_key::handle),
    ("DisableKey", ops::disable_key::handle),
    ("EnableKey", ops::enable_key::handle),
    ("Encrypt", ops::encrypt::handle),
    ("GenerateDataKey", ops::generate_data_key::handle),
    (
        "GenerateDataKeyWithoutPlaintext",
        ops::generate_data_key_without_plaintext::handle,
    ),
    ("GenerateRandom", ops::generate_random::handle),
    ("GetKeyPolicy", ops::get_key_policy::handle),
    ("GetKeyRotationStatus", ops::get_key_rotation_status::handle),
    ("ListAliases", ops::list_aliases::handle),
    ("ListKeyPolicies", ops::list_key_policies::handle),
    ("ListKeys", ops::list_keys::handle),
    ("ListResourceTags", ops::list_resource_tags::handle),
    ("PutKeyPolicy", ops::put_key_policy::handle),
    ("ReEncrypt", ops::re_encrypt::handle),
    ("ScheduleKeyDeletion", ops::schedule_key_deletion::handle),
    ("TagResource", ops::tag_resource::handle),
    ("UntagResource", ops::untag_resource::handle),
    ("UpdateAlias", ops::update_alias::handle),
    ("UpdateKeyDescription", ops::update_key_description::handle),
];

/// The handler of `operation`, if hsm-kms serves it.
pub fn handler(operation: &str) -> Option<Handler> {
    OPERATIONS
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, h)| *h)
}

/// Runs `operation`; an operation of the AWS model that hsm-kms does not serve yet gets
/// UnsupportedOperationException naming it.
pub fn dispatch(
    kms: &Kms,
    ctx: &RequestContext,
    operation: &str,
    input: Value,
) -> KmsResult<Value> {
    match handler(operation) {
        Some(h) => h(kms, ctx, input),
        None => Err(KmsError::unsupported(format!(
            "hsm-kms does not implement {operation} yet."
        ))),
    }
}
