//! RotateKeyOnDemand: starts an immediate rotation (at most 25 per key). The new material
//! becomes current once it is in every related Region's token.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::rotation::{self, require_not_replica, require_rotatable, ON_DEMAND};
use crate::kms::{Kms, RequestContext};
use crate::store::Write;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

/// AWS's limit on on-demand rotations per key.
pub const MAX_ON_DEMAND: u32 = 25;

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let now = kms.clock.now();
    let key = kms.modify_key(ctx, &req.key_id, Op::RotateKeyOnDemand, |key, extra| {
        require_rotatable(key)?;
        require_not_replica(key)?;
        if kms.state().jobs.contains_key(&rotation::job_id(&key.key_id)) {
            return Err(KmsError::new(
                ErrorKind::Conflict,
                format!("A key rotation is already in progress for {}.", key.arn()),
            ));
        }
        if key.on_demand_rotations >= MAX_ON_DEMAND {
            return Err(KmsError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                    key.arn()
                ),
            ));
        }
        key.rotation_started = Some(now);
        extra.push(Write::PutJob(rotation::rotation_job(key, ON_DEMAND, now)));
        Ok(())
    })?;
    kms.jobs_changed.notify_one();
    Ok(json!({ "KeyId": key.arn() }))
}
