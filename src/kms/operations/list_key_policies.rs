//! ListKeyPolicies: always the one policy name, "default".

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::policy::POLICY_NAME;
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct ListKeyPolicies;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for ListKeyPolicies {
    const SPEC: Spec = Spec {
        name: "ListKeyPolicies",
        action: "kms:ListKeyPolicies",
        key_state: Some(Op::ListKeyPolicies),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(_kms: &Kms, _call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        Ok(json!({ "PolicyNames": [POLICY_NAME], "Truncated": false }).into())
    }
}
