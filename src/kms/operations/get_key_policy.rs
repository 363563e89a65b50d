//! GetKeyPolicy: the key's one policy, named "default".

use serde::Deserialize;
use serde_json::json;

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::policy::{check_policy_name, POLICY_NAME};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct GetKeyPolicy;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    policy_name: Option<String>,
}

impl Operation for GetKeyPolicy {
    const SPEC: Spec = Spec {
        name: "GetKeyPolicy",
        action: "kms:GetKeyPolicy",
        key_state: Some(Op::GetKeyPolicy),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        check_policy_name(req.policy_name.as_deref())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(_kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        Ok(json!({ "Policy": call.key()?.policy, "PolicyName": POLICY_NAME }).into())
    }
}
