//! EnableKeyRotation: automatic rotation every RotationPeriodInDays (90–2560, default
//! 365). Set on the primary of a multi-Region key and synchronised to every replica.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::multi_region;
use crate::kms::rotation::{require_not_replica, require_rotatable};
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    rotation_period_in_days: Option<u32>,
}

pub const DEFAULT_PERIOD_DAYS: u32 = 365;

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let days = req.rotation_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    let now = kms.clock.now();
    kms.modify_key(ctx, &req.key_id, Op::EnableKeyRotation, |key, extra| {
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
    Ok(json!({}))
}
