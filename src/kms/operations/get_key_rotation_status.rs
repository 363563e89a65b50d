//! GetKeyRotationStatus: whether automatic rotation is enabled, and its period.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::symmetric::require_symmetric;
use crate::kms::{Kms, RequestContext};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::GetKeyRotationStatus, &key)?;
    require_symmetric(&key, "GetKeyRotationStatus")
        .map_err(|e| crate::kms::error::KmsError::unsupported(e.message))?;
    let mut out = json!({
        "KeyRotationEnabled": key.rotation_enabled,
        "KeyId": key.arn(),
    });
    if key.rotation_enabled {
        if let Some(days) = key.rotation_period_days {
            out["RotationPeriodInDays"] = json!(days);
        }
    }
    Ok(out)
}
