//! Routes an operation name (the part of `X-Amz-Target` after `TrentService.`) to the
//! file under `operations/` that serves it.

use serde_json::Value;

use super::error::{KmsError, KmsResult};
use super::operations as ops;
use super::service::Kms;
use super::wire::Output;
use crate::domain::request::RequestContext;

/// An operation's entry point: most return plain JSON; those that return a secret
/// (a plaintext) return an [`Output`] that keeps it in zeroising memory.
#[derive(Clone, Copy)]
pub enum Handler {
    Plain(fn(&Kms, &RequestContext, Value) -> KmsResult<Value>),
    Secret(fn(&Kms, &RequestContext, Value) -> KmsResult<Output>),
}

use Handler::{Plain as P, Secret as S};

/// Every operation hsm-kms serves.
pub const OPERATIONS: &[(&str, Handler)] = &[
    ("CancelKeyDeletion", P(ops::cancel_key_deletion::handle)),
    ("CreateAlias", P(ops::create_alias::handle)),
    ("CreateKey", P(ops::create_key::handle)),
    ("Decrypt", S(ops::decrypt::handle)),
    ("DeleteAlias", P(ops::delete_alias::handle)),
    ("DeriveSharedSecret", S(ops::derive_shared_secret::handle)),
    (
        "DeleteImportedKeyMaterial",
        P(ops::delete_imported_key_material::handle),
    ),
    ("DescribeKey", P(ops::describe_key::handle)),
    ("DisableKey", P(ops::disable_key::handle)),
    ("DisableKeyRotation", P(ops::disable_key_rotation::handle)),
    ("EnableKey", P(ops::enable_key::handle)),
    ("EnableKeyRotation", P(ops::enable_key_rotation::handle)),
    ("Encrypt", P(ops::encrypt::handle)),
    ("GenerateDataKey", S(ops::generate_data_key::handle)),
    (
        "GenerateDataKeyPair",
        S(ops::generate_data_key_pair::handle),
    ),
    (
        "GenerateDataKeyPairWithoutPlaintext",
        P(ops::generate_data_key_pair_without_plaintext::handle),
    ),
    (
        "GenerateDataKeyWithoutPlaintext",
        P(ops::generate_data_key_without_plaintext::handle),
    ),
    ("GenerateRandom", S(ops::generate_random::handle)),
    ("GenerateMac", P(ops::generate_mac::handle)),
    ("GetKeyPolicy", P(ops::get_key_policy::handle)),
    ("GetPublicKey", P(ops::get_public_key::handle)),
    (
        "GetKeyRotationStatus",
        P(ops::get_key_rotation_status::handle),
    ),
    (
        "GetParametersForImport",
        P(ops::get_parameters_for_import::handle),
    ),
    ("ImportKeyMaterial", P(ops::import_key_material::handle)),
    ("ListAliases", P(ops::list_aliases::handle)),
    ("ListKeyPolicies", P(ops::list_key_policies::handle)),
    ("ListKeyRotations", P(ops::list_key_rotations::handle)),
    ("ListKeys", P(ops::list_keys::handle)),
    ("ListResourceTags", P(ops::list_resource_tags::handle)),
    ("PutKeyPolicy", P(ops::put_key_policy::handle)),
    ("ReEncrypt", P(ops::re_encrypt::handle)),
    ("ReplicateKey", P(ops::replicate_key::handle)),
    ("RotateKeyOnDemand", P(ops::rotate_key_on_demand::handle)),
    ("ScheduleKeyDeletion", P(ops::schedule_key_deletion::handle)),
    ("Sign", P(ops::sign::handle)),
    ("TagResource", P(ops::tag_resource::handle)),
    ("UntagResource", P(ops::untag_resource::handle)),
    ("UpdateAlias", P(ops::update_alias::handle)),
    (
        "UpdateKeyDescription",
        P(ops::update_key_description::handle),
    ),
    ("UpdatePrimaryRegion", P(ops::update_primary_region::handle)),
    ("Verify", P(ops::verify::handle)),
    ("VerifyMac", P(ops::verify_mac::handle)),
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
) -> KmsResult<Output> {
    match handler(operation) {
        Some(P(h)) => h(kms, ctx, input).map(Output::from),
        Some(S(h)) => h(kms, ctx, input),
        None => Err(KmsError::unsupported(format!(
            "hsm-kms does not implement {operation} yet."
        ))),
    }
}
