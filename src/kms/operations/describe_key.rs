//! DescribeKey: a key's metadata, by key id, key ARN, alias name or alias ARN.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::DescribeKey, &key)?;
    Ok(json!({ "KeyMetadata": crate::kms::key_metadata::of(kms, &key) }))
}
