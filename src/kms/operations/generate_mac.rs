//! GenerateMac: an HMAC of the message with an HMAC key, computed inside the Region's token.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyUsage;
use crate::domain::request::RequestContext;
use crate::kms::asymmetric::{self, mac_hash_for, material_label, require_usage};
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Blob};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    message: Blob,
    mac_algorithm: String,
    dry_run: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    require_usage(&key, KeyUsage::GenerateVerifyMac, "GenerateMac")?;
    key_state::check(Op::GenerateMac, &key)?;
    let hash = mac_hash_for(&key, &req.mac_algorithm)?;
    asymmetric::dry_run(req.dry_run)?;
    let label = material_label(&key)?;
    let mac = kms
        .token(key.region)?
        .hmac_with(&label, hash, &req.message.0)
        .map_err(|e| {
            asymmetric::token_error(e, key.region, &format!("compute {}", req.mac_algorithm))
        })?;
    Ok(json!({
        "Mac": b64(&mac),
        "MacAlgorithm": req.mac_algorithm,
        "KeyId": key.arn(),
    }))
}
