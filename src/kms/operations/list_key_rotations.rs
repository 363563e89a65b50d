//! ListKeyRotations: the rotations of a key (each material made by a rotation), oldest
//! first; with IncludeKeyMaterial=ALL_KEY_MATERIAL the original material too, and for
//! imported material the one pending rotation, with each material's import state.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::{KeyRecord, Origin};
use crate::kms::error::KmsResult;
use crate::kms::import;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::rotation::require_rotatable;
use crate::kms::service::Kms;
use crate::kms::wire::{page, Output};

pub struct ListKeyRotations;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    include_key_material: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

impl Operation for ListKeyRotations {
    const SPEC: Spec = Spec {
        name: "ListKeyRotations",
        action: "kms:ListKeyRotations",
        key_state: Some(Op::ListKeyRotations),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        require_rotatable(key)?;
        let all = req.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
        if key.origin == Origin::External {
            return Ok(respond(imported_entries(kms, key, all), &req).into());
        }
        let current = key.current_material().map(|m| m.id.clone());
        let items = key
            .materials
            .iter()
            .enumerate()
            .filter(|(_, m)| all || m.rotation_type.is_some())
            .map(|(i, m)| {
                let mut entry = json!({
                    "KeyId": key.key_id.as_str(),
                    "KeyMaterialId": m.id,
                    "KeyMaterialState": if Some(&m.id) == current.as_ref() { "CURRENT" } else { "NON_CURRENT" },
                });
                if let Some(t) = &m.rotation_type {
                    entry["RotationDate"] = json!(m.created);
                    entry["RotationType"] = json!(t);
                }
                (format!("{i:08}"), entry)
            })
            .collect();
        Ok(respond(items, &req).into())
    }
}

fn respond(items: Vec<(String, Value)>, req: &Request) -> Value {
    let (rotations, next) = page(items.into_iter(), req.marker.as_deref(), req.limit);
    let mut out = json!({"Rotations": rotations, "Truncated": next.is_some()});
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    out
}

/// The entries of a key with imported material: every material the key (or its
/// multi-Region family) has, in the order they became current, the one pending rotation
/// last, each with its import state in this key's Region.
fn imported_entries(kms: &Kms, key: &KeyRecord, all: bool) -> Vec<(String, Value)> {
    let current = key.current_import().map(|m| m.id.clone());
    key.imported
        .iter()
        .enumerate()
        .filter(|(_, m)| all || m.rotation_type.is_some())
        .map(|(i, m)| {
            let state = if m.pending_rotation {
                if import::in_every_token(kms, key, &m.id) {
                    "PENDING_ROTATION"
                } else if key.multi_region.is_some() {
                    "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"
                } else {
                    "PENDING_ROTATION"
                }
            } else if Some(&m.id) == current.as_ref() {
                "CURRENT"
            } else {
                "NON_CURRENT"
            };
            let mut entry = json!({
                "KeyId": key.key_id.as_str(),
                "KeyMaterialId": m.id,
                "KeyMaterialState": state,
                "ImportState": if m.in_token { "IMPORTED" } else { "PENDING_IMPORT" },
            });
            if let Some(d) = &m.description {
                entry["KeyMaterialDescription"] = json!(d);
            }
            if let Some(model) = m.expiration_model.as_ref().filter(|_| m.in_token) {
                entry["ExpirationModel"] = json!(model);
            }
            if let Some(valid_to) = m.expires_at() {
                entry["ValidTo"] = json!(valid_to);
            }
            if let (Some(t), Some(at)) = (&m.rotation_type, m.rotated_at) {
                entry["RotationDate"] = json!(at);
                entry["RotationType"] = json!(t);
            }
            (format!("{i:08}"), entry)
        })
        .collect()
}
