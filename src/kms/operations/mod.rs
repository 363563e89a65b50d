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
                conditions: super::operation::conditions_of::<$module::$operation>,
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

    /// Every `kms:` condition key conditions-kms.md gives an operation hsm-kms serves
    /// (`authz::rules::condition_keys_for`) has a value in its requests, and no other:
    /// the operation's own (`Operation::conditions`), `kms:RequestAlias` for a key named
    /// by alias, and what the hook adds for every operation on a key.
    #[test]
    fn every_operation_supplies_the_condition_keys_of_the_guide() {
        use crate::authz::rules::{self, ResourceType};
        use crate::domain::ids::KeyId;
        use crate::domain::key::{KeyRecord, KeySpec, KeyState, KeyUsage, Origin};
        use crate::domain::region::Region;
        use crate::domain::time::Timestamp;
        use serde_json::json;
        use std::collections::BTreeSet;

        let b64 = "AAECAwQFBgcICQoLDA0ODw==";
        let ec = json!({"purpose": "test"});
        let alias = "alias/sample";
        let mut samples = serde_json::Map::new();
        samples.insert("CancelKeyDeletion".into(), json!({"KeyId": alias}));
        samples.insert(
            "CreateAlias".into(),
            json!({"AliasName": alias, "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        );
        samples.insert("CreateKey".into(), json!({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS",
                          "MultiRegion": true, "BypassPolicyLockoutSafetyCheck": false,
                          "Tags": [{"TagKey": "k", "TagValue": "v"}]}));
        samples.insert("Decrypt".into(), json!({"CiphertextBlob": b64, "KeyId": alias, "EncryptionContext": ec, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}));
        samples.insert("DeleteAlias".into(), json!({"AliasName": alias}));
        samples.insert("DeleteImportedKeyMaterial".into(), json!({"KeyId": alias}));
        samples.insert(
            "DeriveSharedSecret".into(),
            json!({"KeyId": alias, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64}),
        );
        samples.insert("DescribeKey".into(), json!({"KeyId": alias}));
        samples.insert("DisableKey".into(), json!({"KeyId": alias}));
        samples.insert("DisableKeyRotation".into(), json!({"KeyId": alias}));
        samples.insert("EnableKey".into(), json!({"KeyId": alias}));
        samples.insert(
            "EnableKeyRotation".into(),
            json!({"KeyId": alias, "RotationPeriodInDays": 90}),
        );
        samples.insert(
            "Encrypt".into(),
            json!({"KeyId": alias, "Plaintext": b64, "EncryptionContext": ec}),
        );
        samples.insert(
            "GenerateDataKey".into(),
            json!({"KeyId": alias, "NumberOfBytes": 32, "EncryptionContext": ec}),
        );
        samples.insert(
            "GenerateDataKeyPair".into(),
            json!({"KeyId": alias, "KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": ec}),
        );
        samples.insert(
            "GenerateDataKeyPairWithoutPlaintext".into(),
            json!({"KeyId": alias, "KeyPairSpec": "ECC_NIST_P256", "EncryptionContext": ec}),
        );
        samples.insert(
            "GenerateDataKeyWithoutPlaintext".into(),
            json!({"KeyId": alias, "NumberOfBytes": 32, "EncryptionContext": ec}),
        );
        samples.insert(
            "GenerateMac".into(),
            json!({"KeyId": alias, "Message": b64, "MacAlgorithm": "HMAC_SHA_256"}),
        );
        samples.insert("GenerateRandom".into(), json!({"NumberOfBytes": 32}));
        samples.insert("GetKeyPolicy".into(), json!({"KeyId": alias}));
        samples.insert("GetKeyRotationStatus".into(), json!({"KeyId": alias}));
        samples.insert("GetParametersForImport".into(), json!({"KeyId": alias, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}));
        samples.insert("GetPublicKey".into(), json!({"KeyId": alias}));
        samples.insert("ImportKeyMaterial".into(), json!({"KeyId": alias, "ImportToken": b64, "EncryptedKeyMaterial": b64,
                                  "ExpirationModel": "KEY_MATERIAL_EXPIRES", "ValidTo": 1_900_000_000}));
        samples.insert("ListAliases".into(), json!({"KeyId": alias}));
        samples.insert("ListKeyPolicies".into(), json!({"KeyId": alias}));
        samples.insert("ListKeyRotations".into(), json!({"KeyId": alias}));
        samples.insert("ListKeys".into(), json!({}));
        samples.insert(
            "CreateGrant".into(),
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                   "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
                   "RetiringPrincipal": "arn:aws:iam::111122223333:user/ops",
                   "Operations": ["Encrypt", "Decrypt"],
                   "Constraints": {"EncryptionContextSubset": ec}}),
        );
        samples.insert(
            "ListGrants".into(),
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                   "GranteePrincipal": "arn:aws:iam::111122223333:role/app"}),
        );
        samples.insert(
            "ListRetirableGrants".into(),
            json!({"RetiringPrincipal": "arn:aws:iam::111122223333:user/ops"}),
        );
        samples.insert(
            "RetireGrant".into(),
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "GrantId": "0".repeat(64)}),
        );
        samples.insert(
            "RevokeGrant".into(),
            json!({"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "GrantId": "0".repeat(64)}),
        );
        samples.insert("ListResourceTags".into(), json!({"KeyId": alias}));
        samples.insert(
            "PutKeyPolicy".into(),
            json!({"KeyId": alias, "Policy": "{}", "BypassPolicyLockoutSafetyCheck": true}),
        );
        samples.insert("ReEncrypt".into(), json!({"CiphertextBlob": b64, "DestinationKeyId": alias, "DestinationEncryptionContext": ec}));
        samples.insert(
            "ReplicateKey".into(),
            json!({"KeyId": alias, "ReplicaRegion": "us-west-2"}),
        );
        samples.insert("RotateKeyOnDemand".into(), json!({"KeyId": alias}));
        samples.insert(
            "ScheduleKeyDeletion".into(),
            json!({"KeyId": alias, "PendingWindowInDays": 7}),
        );
        samples.insert(
            "Sign".into(),
            json!({"KeyId": alias, "Message": b64, "SigningAlgorithm": "ECDSA_SHA_256"}),
        );
        samples.insert(
            "TagResource".into(),
            json!({"KeyId": alias, "Tags": [{"TagKey": "k", "TagValue": "v"}]}),
        );
        samples.insert(
            "UntagResource".into(),
            json!({"KeyId": alias, "TagKeys": ["k"]}),
        );
        samples.insert(
            "UpdateAlias".into(),
            json!({"AliasName": alias, "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        );
        samples.insert(
            "UpdateKeyDescription".into(),
            json!({"KeyId": alias, "Description": "d"}),
        );
        samples.insert(
            "UpdatePrimaryRegion".into(),
            json!({"KeyId": alias, "PrimaryRegion": "us-west-2"}),
        );
        samples.insert("Verify".into(), json!({"KeyId": alias, "Message": b64, "Signature": b64, "SigningAlgorithm": "ECDSA_SHA_256"}));
        samples.insert(
            "VerifyMac".into(),
            json!({"KeyId": alias, "Message": b64, "Mac": b64, "MacAlgorithm": "HMAC_SHA_256"}),
        );
        let region = Region::parse("us-east-1").expect("Region");
        let key = KeyRecord {
            key_id: KeyId::parse("mrk-1234abcd12ab34cd56ef1234567890ab").expect("id"),
            region,
            account_id: "111122223333".into(),
            created: Timestamp::EPOCH,
            description: String::new(),
            key_spec: KeySpec::SymmetricDefault,
            key_usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: Vec::new(),
            materials: Vec::new(),
            rotation_enabled: false,
            rotation_period_days: None,
            multi_region: Some(crate::domain::key::MultiRegionRole::Primary),
            next_rotation: None,
            on_demand_rotations: 0,
            rotation_started: None,
            imported: Vec::new(),
        };
        // What the authorization hook and the caller's context add on every operation on a
        // key (`kms::authorization`, `authz::decide::context_for`).
        let from_the_key = [
            "kms:CallerAccount",
            "kms:KeySpec",
            "kms:KeyUsage",
            "kms:KeyOrigin",
            "kms:MultiRegion",
            "kms:MultiRegionKeyType",
            "kms:ResourceAliases",
        ];
        for entry in REGISTRY {
            let name = entry.spec.name;
            let action = entry.spec.action;
            let input = samples
                .get(name)
                .unwrap_or_else(|| panic!("no sample request for {name}"))
                .clone();
            let on_key = rules::rule(action)
                .unwrap_or_else(|| panic!("{action} is not in the action table"))
                .resources
                .contains(&ResourceType::Key);
            let values = (entry.conditions)(input, on_key.then_some(&key))
                .unwrap_or_else(|e| panic!("{name}: sample request: {}", e.message));
            let mut got: BTreeSet<&str> = values
                .iter()
                .map(|(k, _)| k)
                .filter(|k| k.starts_with("kms:"))
                .map(|k| {
                    if k.starts_with("kms:EncryptionContext:") {
                        "kms:EncryptionContext:"
                    } else {
                        k
                    }
                })
                .collect();
            if on_key {
                got.extend(from_the_key);
            }
            let want: BTreeSet<&str> = rules::condition_keys_for(action).map(|c| c.key).collect();
            assert_eq!(got, want, "{name} ({action})");
        }
    }
}
