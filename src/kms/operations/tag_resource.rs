//! TagResource: adds tags to a key or updates their values (tags are per Region).

use serde::Deserialize;
use serde_json::json;

use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::tags::{check_tags, merge_tags, tag_conditions, WireTag};
use crate::kms::wire::Output;

pub struct TagResource;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    tags: Vec<WireTag>,
}

impl Operation for TagResource {
    const SPEC: Spec = Spec {
        name: "TagResource",
        action: "kms:TagResource",
        key_state: Some(Op::TagResource),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        check_tags(ctx.invoked_by, &req.tags).map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        tag_conditions(&req.tags)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let tags = check_tags(call.ctx.invoked_by, &req.tags)?;
        call.modify_key(kms, |key, _| merge_tags(&mut key.tags, tags))?;
        Ok(json!({}).into())
    }
}
