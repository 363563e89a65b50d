//! CancelKeyDeletion: a key pending deletion goes back to Disabled; its deletion job is
//! dropped.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyState;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;

use crate::kms::jobs::delete_job_id as job_id;

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
