//! GetKeyPolicy: the key's one policy, named "default".

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::policy::POLICY_NAME;
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    policy_name: Option<String>,
}

/// Only the policy name "default" exists.
pub fn check_policy_name(name: Option<&str>) -> KmsResult<()> {
    match name {
        None | Some(POLICY_NAME) => Ok(()),
        Some(other) => Err(KmsError::not_found(format!(
            "No such policy exists: {other}. A key has one policy, named default."
        ))),
    }
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    check_policy_name(req.policy_name.as_deref())?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::GetKeyPolicy, &key)?;
    Ok(json!({ "Policy": key.policy, "PolicyName": POLICY_NAME }))
}
