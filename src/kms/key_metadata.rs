//! `KeyMetadata`, the description of a KMS key that CreateKey, DescribeKey and ReplicateKey
//! return: rendered here and nowhere else, by [`render`], from the key's record and its
//! multi-Region family. The struct has the members of the service model's `KeyMetadata`
//! shape that hsm-kms produces (PascalCase on the wire; a member that does not apply is
//! absent, not null). Custom key store members (`CustomKeyStoreId`,
//! `CloudHsmClusterId`, `XksKeyConfiguration`) never apply: hsm-kms has no custom key
//! stores.

use std::sync::Arc;

use serde::Serialize;

use super::key_spec;
use super::multi_region;
use super::service::Kms;
use crate::domain::key::{KeyRecord, KeySpec, KeyState, KeyUsage, MultiRegionRole, Origin};
use crate::domain::region::Region;
use crate::domain::time::Timestamp;

/// AWS's `KeyMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: Timestamp,
    /// True exactly when the key state is `Enabled`.
    pub enabled: bool,
    pub description: String,
    pub key_usage: KeyUsage,
    pub key_state: KeyState,
    /// `PendingDeletion` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    /// Imported material in the token that expires (`KEY_MATERIAL_EXPIRES`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    pub origin: Origin,
    /// Imported material in the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<String>,
    /// Always `CUSTOMER`: hsm-kms has no AWS managed keys.
    pub key_manager: &'static str,
    /// Deprecated by AWS, still sent: the same value as `KeySpec`.
    pub customer_master_key_spec: KeySpec,
    pub key_spec: KeySpec,
    /// `ENCRYPT_DECRYPT` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<&'static [&'static str]>,
    /// `SIGN_VERIFY` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<&'static [&'static str]>,
    /// `KEY_AGREEMENT` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<&'static [&'static str]>,
    /// `GENERATE_VERIFY_MAC` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<&'static [&'static str]>,
    pub multi_region: bool,
    /// Multi-Region keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    /// `PendingDeletion` and `PendingReplicaDeletion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<u32>,
    /// Symmetric encryption keys only, as AWS shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

/// AWS's `MultiRegionConfiguration`: derived from the related keys that exist, so it is
/// the same in every Region after every change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: MultiRegionKeyType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<MultiRegionKey>,
    pub replica_keys: Vec<MultiRegionKey>,
}

/// AWS's `MultiRegionKeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MultiRegionKeyType {
    Primary,
    Replica,
}

/// AWS's `MultiRegionKey`: one related key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: Region,
}

/// The `KeyMetadata` of `key`. `family` is every key with its key id (the key itself
/// included, any order), read only for a multi-Region key.
pub fn render(key: &KeyRecord, family: &[Arc<KeyRecord>]) -> KeyMetadata {
    let rule = key_spec::rule(key.key_spec);
    let algorithms = |usage: KeyUsage, list: &'static [&'static str]| {
        (key.key_usage == usage && !list.is_empty()).then_some(list)
    };
    let pending_deletion = matches!(
        key.state,
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
    );
    // Imported material shows its expiration while it is in the token.
    let current_import = key.current_import();
    let in_token = current_import.filter(|m| m.in_token);
    KeyMetadata {
        aws_account_id: key.account_id.clone(),
        key_id: key.key_id.to_string(),
        arn: key.arn(),
        creation_date: key.created,
        enabled: key.state == KeyState::Enabled,
        description: key.description.clone(),
        key_usage: key.key_usage,
        key_state: key.state,
        deletion_date: key
            .deletion_date
            .filter(|_| key.state == KeyState::PendingDeletion),
        valid_to: in_token.and_then(|m| m.expires_at()),
        origin: key.origin,
        expiration_model: in_token.and_then(|m| m.expiration_model.clone()),
        key_manager: "CUSTOMER",
        customer_master_key_spec: key.key_spec,
        key_spec: key.key_spec,
        encryption_algorithms: algorithms(KeyUsage::EncryptDecrypt, rule.encryption),
        signing_algorithms: algorithms(KeyUsage::SignVerify, rule.signing),
        key_agreement_algorithms: algorithms(KeyUsage::KeyAgreement, rule.agreement),
        mac_algorithms: algorithms(KeyUsage::GenerateVerifyMac, rule.mac),
        multi_region: key.key_id.is_multi_region(),
        multi_region_configuration: key.multi_region.map(|role| configuration(role, family)),
        pending_deletion_window_in_days: key.pending_window_days.filter(|_| pending_deletion),
        current_key_material_id: current_material_id(key),
    }
}

/// The `KeyMetadata` of `key`, with its multi-Region family read from the service.
pub fn of(kms: &Kms, key: &KeyRecord) -> KeyMetadata {
    let family = if key.multi_region.is_some() {
        multi_region::related(kms, &key.key_id)
    } else {
        Vec::new()
    };
    render(key, &family)
}

/// `CurrentKeyMaterialId`: AWS shows it for symmetric encryption keys only (the recorded
/// HMAC and asymmetric keys have none), and not for a replica still `Creating` (AWS's
/// ReplicateKey response has none: its material is not in its token yet). Imported
/// material stays current while it is deleted or expired (AWS keeps showing it); material
/// only known from the multi-Region family, or pending rotation, never is.
fn current_material_id(key: &KeyRecord) -> Option<String> {
    if key.key_spec != KeySpec::SymmetricDefault || key.state == KeyState::Creating {
        return None;
    }
    if key.origin == Origin::External {
        return key
            .current_import()
            .filter(|_| key.imported_here())
            .map(|m| m.id.clone());
    }
    key.current_material().map(|m| m.id.clone())
}

fn configuration(role: MultiRegionRole, family: &[Arc<KeyRecord>]) -> MultiRegionConfiguration {
    let entry = |k: &KeyRecord| MultiRegionKey {
        arn: k.arn(),
        region: k.region,
    };
    let mut family: Vec<&KeyRecord> = family.iter().map(|k| &**k).collect();
    family.sort_by_key(|k| k.region.as_str());
    MultiRegionConfiguration {
        multi_region_key_type: match role {
            MultiRegionRole::Primary => MultiRegionKeyType::Primary,
            MultiRegionRole::Replica => MultiRegionKeyType::Replica,
        },
        primary_key: family.iter().find(|k| k.is_primary()).map(|k| entry(k)),
        replica_keys: family
            .iter()
            .filter(|k| !k.is_primary())
            .map(|k| entry(k))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::KeyId;
    use crate::domain::key::{ImportedMaterial, MaterialRecord, KEY_MATERIAL_EXPIRES};
    use serde_json::Value;

    const MODEL: &str = include_str!("../../model/kms-service-model.json");

    fn members(shape: &str) -> Vec<String> {
        let model: Value = serde_json::from_str(MODEL).expect("model");
        model["shapes"][shape]["members"]
            .as_object()
            .expect("shape")
            .keys()
            .cloned()
            .collect()
    }

    fn key(spec: KeySpec, usage: KeyUsage, origin: Origin) -> KeyRecord {
        KeyRecord {
            key_id: KeyId::new_single_region(),
            region: Region::parse("us-east-1").expect("catalogue"),
            account_id: "111122223333".into(),
            created: Timestamp::from_secs(1_700_000_000.5),
            description: "d".into(),
            key_spec: spec,
            key_usage: usage,
            origin,
            state: KeyState::Enabled,
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: vec![],
            materials: vec![MaterialRecord {
                id: "ab".repeat(32),
                created: Timestamp::EPOCH,
                rotation_type: None,
                public_key: None,
            }],
            rotation_enabled: false,
            rotation_period_days: None,
            multi_region: None,
            next_rotation: None,
            on_demand_rotations: 0,
            rotation_started: None,
            imported: vec![],
        }
    }

    fn json(md: &KeyMetadata) -> serde_json::Map<String, Value> {
        match serde_json::to_value(md).expect("serialises") {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    fn names(m: &serde_json::Map<String, Value>) -> Vec<&str> {
        let mut v: Vec<&str> = m.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn every_member_is_a_member_of_the_model_shape() {
        let mut k = key(
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Origin::External,
        );
        k.key_id = KeyId::new_multi_region();
        k.multi_region = Some(MultiRegionRole::Primary);
        k.state = KeyState::PendingDeletion;
        k.deletion_date = Some(Timestamp::from_secs(1.0));
        k.pending_window_days = Some(7);
        k.imported = vec![ImportedMaterial {
            id: "ab".repeat(32),
            kcv: String::new(),
            imported_at: Some(Timestamp::EPOCH),
            in_token: true,
            expiration_model: Some(KEY_MATERIAL_EXPIRES.into()),
            valid_to: Some(Timestamp::from_secs(2.0)),
            description: None,
            pending_rotation: false,
            rotation_type: None,
            rotated_at: None,
        }];
        let mut replica = k.clone();
        replica.region = Region::parse("eu-west-1").expect("catalogue");
        replica.multi_region = Some(MultiRegionRole::Replica);
        let family = [Arc::new(replica), Arc::new(k.clone())];
        let md = json(&render(&k, &family));
        let model = members("KeyMetadata");
        for name in md.keys() {
            assert!(model.contains(name), "{name} is not a KeyMetadata member");
        }
        // Everything this key has is shown.
        for name in [
            "DeletionDate",
            "ValidTo",
            "ExpirationModel",
            "MultiRegionConfiguration",
            "PendingDeletionWindowInDays",
            "CurrentKeyMaterialId",
            "EncryptionAlgorithms",
        ] {
            assert!(md.contains_key(name), "{name} missing: {md:?}");
        }
        let config = md["MultiRegionConfiguration"].as_object().expect("object");
        let config_model = members("MultiRegionConfiguration");
        for name in config.keys() {
            assert!(config_model.contains(name), "{name}");
        }
        assert_eq!(config["MultiRegionKeyType"], "PRIMARY");
        assert_eq!(config["PrimaryKey"]["Region"], "us-east-1");
        assert_eq!(config["ReplicaKeys"][0]["Region"], "eu-west-1");
        let entry_model = members("MultiRegionKey");
        for name in config["PrimaryKey"].as_object().expect("object").keys() {
            assert!(entry_model.contains(name), "{name}");
        }
    }

    #[test]
    fn a_symmetric_key_has_the_members_aws_returns() {
        // As recorded from AWS for DescribeKey of an enabled single-Region symmetric key.
        let k = key(
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Origin::AwsKms,
        );
        let md = json(&render(&k, &[]));
        assert_eq!(
            names(&md),
            [
                "AWSAccountId",
                "Arn",
                "CreationDate",
                "CurrentKeyMaterialId",
                "CustomerMasterKeySpec",
                "Description",
                "Enabled",
                "EncryptionAlgorithms",
                "KeyId",
                "KeyManager",
                "KeySpec",
                "KeyState",
                "KeyUsage",
                "MultiRegion",
                "Origin",
            ]
        );
        assert_eq!(md["KeySpec"], "SYMMETRIC_DEFAULT");
        assert_eq!(md["KeyUsage"], "ENCRYPT_DECRYPT");
        assert_eq!(md["KeyState"], "Enabled");
        assert_eq!(md["Origin"], "AWS_KMS");
        assert_eq!(md["CreationDate"], 1_700_000_000.5);
        assert_eq!(
            md["EncryptionAlgorithms"],
            serde_json::json!(["SYMMETRIC_DEFAULT"])
        );
        assert_eq!(md["MultiRegion"], false);
    }

    #[test]
    fn hmac_and_asymmetric_keys_show_their_algorithms_and_no_material_id() {
        // As recorded from AWS: an imported HMAC_224 key and an ECC_NIST_P256 signing key.
        let mut k = key(
            KeySpec::Hmac224,
            KeyUsage::GenerateVerifyMac,
            Origin::External,
        );
        k.state = KeyState::PendingImport;
        let md = json(&render(&k, &[]));
        assert_eq!(md["MacAlgorithms"], serde_json::json!(["HMAC_SHA_224"]));
        assert_eq!(md["Enabled"], false);
        assert!(!md.contains_key("CurrentKeyMaterialId"));
        assert!(!md.contains_key("EncryptionAlgorithms"));
        let k = key(KeySpec::EccNistP256, KeyUsage::SignVerify, Origin::AwsKms);
        let md = json(&render(&k, &[]));
        assert_eq!(
            md["SigningAlgorithms"],
            serde_json::json!(["ECDSA_SHA_256"])
        );
        assert!(!md.contains_key("CurrentKeyMaterialId"));
        assert!(!md.contains_key("KeyAgreementAlgorithms"));
    }

    #[test]
    fn a_creating_replica_shows_no_current_material() {
        // As AWS's ReplicateKey response shows the new replica.
        let mut k = key(
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Origin::AwsKms,
        );
        k.state = KeyState::Creating;
        k.multi_region = Some(MultiRegionRole::Replica);
        let md = json(&render(&k, &[Arc::new(k.clone())]));
        assert!(!md.contains_key("CurrentKeyMaterialId"));
        assert_eq!(md["Enabled"], false);
        assert_eq!(
            md["MultiRegionConfiguration"]["MultiRegionKeyType"],
            "REPLICA"
        );
        assert!(md["MultiRegionConfiguration"].get("PrimaryKey").is_none());
    }

    #[test]
    fn deletion_members_follow_the_key_state() {
        let mut k = key(
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            Origin::AwsKms,
        );
        k.state = KeyState::PendingReplicaDeletion;
        k.deletion_date = Some(Timestamp::from_secs(5.0));
        k.pending_window_days = Some(9);
        let md = json(&render(&k, &[]));
        assert!(!md.contains_key("DeletionDate"));
        assert_eq!(md["PendingDeletionWindowInDays"], 9);
        k.state = KeyState::Disabled;
        let md = json(&render(&k, &[]));
        assert!(!md.contains_key("PendingDeletionWindowInDays"));
    }
}
