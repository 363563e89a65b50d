//! PutKeyPolicy: replaces the key's policy after checking it is a well-formed document.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::policy::check_policy;
use crate::kms::service::Kms;

use super::get_key_policy::check_policy_name;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
    #[allow(dead_code)]
    bypass_policy_lockout_safety_check: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    check_policy_name(req.policy_name.as_deref())?;
    check_policy(&req.policy)?;
    kms.modify_key(ctx, &req.key_id, Op::PutKeyPolicy, |key, _| {
        key.policy = req.policy;
        Ok(())
    })?;
    Ok(json!({}))
}
