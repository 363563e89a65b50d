//! ListKeyRotations: the rotations of a key (each material made by a rotation), oldest
//! first; with IncludeKeyMaterial=ALL_KEY_MATERIAL the original material too.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::rotation::require_rotatable;
use crate::kms::wire::page;
use crate::kms::{Kms, RequestContext};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    include_key_material: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::ListKeyRotations, &key)?;
    require_rotatable(&key)?;
    let all = req.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
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
        });
    let (rotations, next) = page(items, req.marker.as_deref(), req.limit);
    let mut out = json!({"Rotations": rotations, "Truncated": next.is_some()});
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    Ok(out)
}
