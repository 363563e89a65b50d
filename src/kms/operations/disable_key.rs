//! DisableKey: Disables a key: Enabled → Disabled; crypto with it fails with DisabledException.

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
    kms.modify_key(ctx, &req.key_id, Op::DisableKey, |key, _| {
        key.state = KeyState::Disabled;
        Ok(())
    })?;
    Ok(json!({}))
}
