//! PutKeyPolicy: replaces the key's policy after checking it is a well-formed document.

use serde::Deserialize;
use serde_json::json;

use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::policy::{check_policy, check_policy_name};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct PutKeyPolicy;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
    bypass_policy_lockout_safety_check: Option<bool>,
}

impl Operation for PutKeyPolicy {
    const SPEC: Spec = Spec {
        name: "PutKeyPolicy",
        action: "kms:PutKeyPolicy",
        key_state: Some(Op::PutKeyPolicy),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        check_policy_name(req.policy_name.as_deref())?;
        check_policy(&req.policy)
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add(
            "kms:BypassPolicyLockoutSafetyCheck",
            req.bypass_policy_lockout_safety_check
                .unwrap_or(false)
                .to_string(),
        );
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let bypass = req.bypass_policy_lockout_safety_check.unwrap_or(false);
        call.modify_key(kms, |key, _| {
            call.check_new_policy(kms, &req.policy, key, bypass)?;
            key.policy = req.policy;
            Ok(())
        })?;
        Ok(json!({}).into())
    }
}
