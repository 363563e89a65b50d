//! ListAliases: the aliases of the request's Region, optionally only those of one key.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::service::Kms;
use crate::kms::wire::page;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let only = match &req.key_id {
        Some(raw) => Some(kms.resolve(ctx, raw)?.key_id.clone()),
        None => None,
    };
    let state = kms.state();
    let items = state
        .aliases
        .get(&ctx.region)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|a| only.as_ref().is_none_or(|k| &a.target == k))
        .map(|a| {
            (
                a.name.to_string(),
                json!({
                    "AliasName": a.name.as_str(),
                    "AliasArn": kms.alias_arn(ctx.region, &a.name),
                    "TargetKeyId": a.target.as_str(),
                    "CreationDate": a.created,
                    "LastUpdatedDate": a.updated,
                }),
            )
        });
    let (aliases, next) = page(items, req.marker.as_deref(), req.limit);
    let mut out = json!({"Aliases": aliases, "Truncated": next.is_some()});
    if let Some(m) = next {
        out["NextMarker"] = json!(m);
    }
    Ok(out)
}
