//! GetKeyRotationStatus: whether automatic rotation is enabled, its period and next date,
//! and when an on-demand rotation in progress started.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::rotation::require_rotatable;
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct GetKeyRotationStatus;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for GetKeyRotationStatus {
    const SPEC: Spec = Spec {
        name: "GetKeyRotationStatus",
        action: "kms:GetKeyRotationStatus",
        key_state: Some(Op::GetKeyRotationStatus),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(_kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        require_rotatable(key)?;
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
        Ok(out.into())
    }
}
