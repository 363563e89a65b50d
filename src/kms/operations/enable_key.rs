//! EnableKey: Enables a key: Disabled → Enabled.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyState;
use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;

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
