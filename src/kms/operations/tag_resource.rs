//! TagResource: adds tags to a key or updates their values (tags are per Region).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;

use crate::kms::tags::{check_tags, merge_tags, WireTag};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    tags: Vec<WireTag>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let tags = check_tags(req.tags)?;
    kms.modify_key(ctx, &req.key_id, Op::TagResource, |key, _| {
        merge_tags(&mut key.tags, tags)
    })?;
    Ok(json!({}))
}
