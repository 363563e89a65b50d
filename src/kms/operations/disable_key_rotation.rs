//! DisableKeyRotation: stops automatic rotation (on the primary of a multi-Region key,
//! synchronised to every replica). Existing material is kept.

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
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    kms.modify_key(ctx, &req.key_id, Op::DisableKeyRotation, |key, extra| {
        require_rotatable(key)?;
        require_not_replica(key)?;
        key.rotation_enabled = false;
        key.next_rotation = None;
        for replica in multi_region::related(kms, &key.key_id) {
            if replica.region != key.region {
                let mut r = (*replica).clone();
                r.rotation_enabled = false;
                r.next_rotation = None;
                extra.push(Write::PutKey(r));
            }
        }
        Ok(())
    })?;
    Ok(json!({}))
}
