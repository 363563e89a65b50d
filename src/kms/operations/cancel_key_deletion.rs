//! CancelKeyDeletion: a key pending deletion goes back to Disabled; its deletion job is
//! dropped.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::model::KeyState;
use crate::kms::{Kms, RequestContext};
use crate::store::Write;

use super::schedule_key_deletion::job_id;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.modify_key(ctx, &req.key_id, Op::CancelKeyDeletion, |key, extra| {
        key.state = KeyState::Disabled;
        key.deletion_date = None;
        key.pending_window_days = None;
        extra.push(Write::DeleteJob { id: job_id(key) });
        Ok(())
    })?;
    Ok(json!({ "KeyId": key.arn() }))
}
