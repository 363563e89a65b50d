//! The AWS `KeyMetadata` of a key.

use serde_json::{json, Value};

use super::service::Kms;
use crate::domain::key::{KeyRecord, KeySpec, KeyState, MultiRegionRole};

/// The AWS `KeyMetadata` structure, without the multi-Region configuration.
pub fn base(key: &KeyRecord) -> Value {
    let mut m = json!({
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id.as_str(),
        "Arn": key.arn(),
        "CreationDate": key.created,
        "Enabled": key.state == KeyState::Enabled,
        "Description": key.description,
        "KeyUsage": key.key_usage.as_str(),
        "KeyState": key.state.as_str(),
        "Origin": key.origin.as_str(),
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": key.key_spec.as_str(),
        "KeySpec": key.key_spec.as_str(),
        "MultiRegion": key.key_id.is_multi_region(),
    });
    if let Some((member, algorithms)) =
        super::key_spec::algorithm_members(key.key_spec, key.key_usage)
    {
        if !algorithms.is_empty() {
            m[member] = json!(algorithms);
        }
    }
    // AWS shows CurrentKeyMaterialId for symmetric encryption keys only (the recorded
    // HMAC and asymmetric keys have none).
    if key.key_spec == KeySpec::SymmetricDefault {
        if let Some(material) = key.current_material() {
            m["CurrentKeyMaterialId"] = json!(material.id);
        }
    }
    decorate_metadata(key, &mut m);
    if let Some(date) = key.deletion_date {
        if key.state == KeyState::PendingDeletion {
            m["DeletionDate"] = json!(date);
        }
    }
    if let Some(days) = key.pending_window_days {
        if matches!(
            key.state,
            KeyState::PendingDeletion | KeyState::PendingReplicaDeletion
        ) {
            m["PendingDeletionWindowInDays"] = json!(days);
        }
    }
    m
}

/// The KeyMetadata members of imported material: ExpirationModel and ValidTo while the
/// material is in the token, and the CurrentKeyMaterialId of a symmetric key whose
/// material was deleted or expired (AWS keeps showing it).
fn decorate_metadata(key: &KeyRecord, m: &mut Value) {
    if key.origin != crate::domain::key::Origin::External {
        return;
    }
    let current = super::import::current_import(key);
    if key.key_spec == KeySpec::SymmetricDefault {
        // The current material stays current while it is deleted or expired (AWS keeps
        // showing it); material pending rotation never is.
        let imported_here = key.imported.iter().any(|i| i.imported_at.is_some());
        match current.filter(|_| imported_here) {
            Some(c) => m["CurrentKeyMaterialId"] = json!(c.id),
            None => {
                if let Some(obj) = m.as_object_mut() {
                    obj.remove("CurrentKeyMaterialId");
                }
            }
        }
    }
    // (HMAC and asymmetric keys show no CurrentKeyMaterialId at all: KeyRecord::metadata.)
    if let Some(imp) = current.filter(|c| c.in_token) {
        if let Some(model) = &imp.expiration_model {
            m["ExpirationModel"] = json!(model);
            if model == super::import::KEY_MATERIAL_EXPIRES {
                if let Some(v) = imp.valid_to {
                    m["ValidTo"] = json!(v);
                }
            }
        }
    }
}

/// The key's `KeyMetadata`, with `MultiRegionConfiguration` for multi-Region keys.
pub fn of(kms: &Kms, key: &KeyRecord) -> Value {
    let mut m = base(key);
    if let Some(role) = key.multi_region {
        let family = super::multi_region::related(kms, &key.key_id);
        let entry = |k: &KeyRecord| json!({"Arn": k.arn(), "Region": k.region.as_str()});
        let primary = family
            .iter()
            .find(|k| k.is_primary())
            .map(|k| entry(k))
            .unwrap_or(Value::Null);
        let replicas: Vec<Value> = family
            .iter()
            .filter(|k| !k.is_primary())
            .map(|k| entry(k))
            .collect();
        m["MultiRegionConfiguration"] = json!({
            "MultiRegionKeyType": match role {
                MultiRegionRole::Primary => "PRIMARY",
                MultiRegionRole::Replica => "REPLICA",
            },
            "PrimaryKey": primary,
            "ReplicaKeys": replicas,
        });
    }
    m
}
