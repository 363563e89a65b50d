//! ListKeys: the keys of the request's Region, paged with Limit and Marker.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::service::Kms;
use crate::kms::wire::page;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let state = kms.state();
    let keys = state.keys.get(&ctx.region);
    let items = keys.into_iter().flat_map(|m| m.values()).map(|k| {
        (
            k.key_id.to_string(),
            json!({"KeyId": k.key_id.as_str(), "KeyArn": k.arn()}),
        )
    });
    let (keys, next) = page(items, req.marker.as_deref(), req.limit);
    let mut out = json!({"Keys": keys, "Truncated": next.is_some()});
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    Ok(out)
}
