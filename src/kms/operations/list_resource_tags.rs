//! ListResourceTags: a key's tags in insertion order, paged.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::page;

use crate::kms::tags::tag_json;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    key_state::check(Op::ListResourceTags, &key)?;
    // Insertion order is the listing order: the marker is the zero-padded position.
    let items = key
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:08}"), tag_json(t)));
    let (tags, next) = page(items, req.marker.as_deref(), req.limit);
    let mut out = json!({"Tags": tags, "Truncated": next.is_some()});
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    Ok(out)
}
