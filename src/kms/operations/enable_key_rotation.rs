//! EnableKeyRotation: automatic rotation every RotationPeriodInDays (90–2560, default
//! 365). Set on the primary of a multi-Region key and synchronised to every replica.

use serde::Deserialize;
use serde_json::json;

use crate::domain::request::ConditionValues;
use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::multi_region;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::rotation::{require_not_replica, require_rotatable};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct EnableKeyRotation;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    rotation_period_in_days: Option<u32>,
}

pub const DEFAULT_PERIOD_DAYS: u32 = 365;

impl Operation for EnableKeyRotation {
    const SPEC: Spec = Spec {
        name: "EnableKeyRotation",
        action: "kms:EnableKeyRotation",
        key_state: Some(Op::EnableKeyRotation),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add(
            "kms:RotationPeriodInDays",
            req.rotation_period_in_days
                .unwrap_or(DEFAULT_PERIOD_DAYS)
                .to_string(),
        );
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let days = req.rotation_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
        let now = kms.clock.now();
        call.modify_key(kms, |key, extra| {
            require_rotatable(key)?;
            require_not_replica(key)?;
            key.rotation_enabled = true;
            key.rotation_period_days = Some(days);
            key.next_rotation = Some(now.plus_days(days));
            for replica in multi_region::related(kms, &key.key_id) {
                if replica.region != key.region {
                    let mut r = (*replica).clone();
                    r.rotation_enabled = true;
                    r.rotation_period_days = Some(days);
                    r.next_rotation = key.next_rotation;
                    extra.push(Write::PutKey(r));
                }
            }
            Ok(())
        })?;
        kms.jobs_changed.notify_one();
        Ok(json!({}).into())
    }
}
