//! One file per KMS operation, each declaring itself once by implementing
//! [`Operation`](super::operation::Operation); the file is the operation's name in snake
//! case (`GenerateDataKey` → `generate_data_key.rs`). [`REGISTRY`] is built from this one
//! list of files; [`super::dispatch`] finds operations in it by name.

use super::operation::Entry;

/// Declares the operation modules and the registry of their types, from one list.
macro_rules! operations {
    ($($module:ident :: $operation:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every operation hsm-kms serves.
        pub static REGISTRY: &[Entry] = &[$(
            Entry {
                spec: &<$module::$operation as super::operation::Operation>::SPEC,
                prepare: super::operation::prepare::<$module::$operation>,
            }
        ),*];
    };
}

operations! {
    cancel_key_deletion::CancelKeyDeletion,
    create_alias::CreateAlias,
    create_grant::CreateGrant,
    create_key::CreateKey,
    decrypt::Decrypt,
    delete_alias::DeleteAlias,
    delete_imported_key_material::DeleteImportedKeyMaterial,
    derive_shared_secret::DeriveSharedSecret,
    describe_key::DescribeKey,
    disable_key::DisableKey,
    disable_key_rotation::DisableKeyRotation,
    enable_key::EnableKey,
    enable_key_rotation::EnableKeyRotation,
    encrypt::Encrypt,
    generate_data_key::GenerateDataKey,
    generate_data_key_pair::GenerateDataKeyPair,
    generate_data_key_pair_without_plaintext::GenerateDataKeyPairWithoutPlaintext,
    generate_data_key_without_plaintext::GenerateDataKeyWithoutPlaintext,
    generate_mac::GenerateMac,
    generate_random::GenerateRandom,
    get_key_policy::GetKeyPolicy,
    get_key_rotation_status::GetKeyRotationStatus,
    get_parameters_for_import::GetParametersForImport,
    get_public_key::GetPublicKey,
    import_key_material::ImportKeyMaterial,
    list_aliases::ListAliases,
    list_grants::ListGrants,
    list_key_policies::ListKeyPolicies,
    list_key_rotations::ListKeyRotations,
    list_keys::ListKeys,
    list_resource_tags::ListResourceTags,
    list_retirable_grants::ListRetirableGrants,
    put_key_policy::PutKeyPolicy,
    re_encrypt::ReEncrypt,
    replicate_key::ReplicateKey,
    retire_grant::RetireGrant,
    revoke_grant::RevokeGrant,
    rotate_key_on_demand::RotateKeyOnDemand,
    schedule_key_deletion::ScheduleKeyDeletion,
    sign::Sign,
    tag_resource::TagResource,
    untag_resource::UntagResource,
    update_alias::UpdateAlias,
    update_key_description::UpdateKeyDescription,
    update_primary_region::UpdatePrimaryRegion,
    verify::Verify,
    verify_mac::VerifyMac,
}

#[cfg(test)]
mod tests {
    use super::REGISTRY;
    use crate::kms::validate::ServiceModel;

    #[test]
    fn every_operation_is_declared_once_under_its_file_name() {
        for (i, a) in REGISTRY.iter().enumerate() {
            for b in &REGISTRY[i + 1..] {
                assert_ne!(a.spec.name, b.spec.name, "declared twice");
            }
        }
        assert_eq!(REGISTRY.len(), 47);
    }

    #[test]
    fn every_operation_is_an_operation_of_the_model_with_its_iam_action() {
        let model = ServiceModel::get();
        for entry in REGISTRY {
            let spec = entry.spec;
            assert!(
                model.has_operation(spec.name),
                "{} not in the model",
                spec.name
            );
            // Every KMS permission is kms:<Operation>, except ReEncrypt's two.
            if spec.name == "ReEncrypt" {
                assert_eq!(spec.action, "kms:ReEncryptTo");
            } else {
                assert_eq!(spec.action, format!("kms:{}", spec.name));
            }
        }
    }
}
