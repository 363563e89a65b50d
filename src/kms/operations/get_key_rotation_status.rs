//! GetKeyRotationStatus: whether automatic rotation is enabled, its period and next date,
//! and when an on-demand rotation in progress started.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::rotation::require_rotatable;
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::GetKeyRotationStatus, &key)?;
    require_rotatable(&key)?;
    let mut out = json!({
        "KeyRotationEnabled": key.rotation_enabled,
        "KeyId": key.arn(),
    });
    if key.rotation_enabled {
        if let Some(days) = key.rotation_period_days {
            out["RotationPeriodInDays"] = json!(days);
        }
        if let Some(next) = key.next_rotation {
            out["NextRotationDate"] = json!(next);
        }
    }
    if let Some(started) = key.rotation_started {
        out["OnDemandRotationStartDate"] = json!(started);
    }
    Ok(out)
}
