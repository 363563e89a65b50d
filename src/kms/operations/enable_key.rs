//! EnableKey: Enables a key: Disabled → Enabled.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::model::KeyState;
use crate::kms::{Kms, RequestContext};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    kms.modify_key(ctx, &req.key_id, Op::EnableKey, |key, _| {
        key.state = KeyState::Enabled;
        Ok(())
    })?;
    Ok(json!({}))
}
