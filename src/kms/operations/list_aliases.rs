//! ListAliases: the aliases of the request's Region, optionally only those of one key.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{page, Output};

pub struct ListAliases;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

impl Operation for ListAliases {
    const SPEC: Spec = Spec {
        name: "ListAliases",
        action: "kms:ListAliases",
        key_state: Some(Op::ListAliases),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        req.key_id.as_deref()
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let region = call.ctx.region;
        let only = call.key_if_any().map(|k| k.key_id.clone());
        let state = kms.state();
        // A principal of another account lists its own account's aliases: none here.
        let items = state
            .aliases
            .get(&region)
            .filter(|_| kms.caller_in_other_account(call.ctx).is_none())
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|a| only.as_ref().is_none_or(|k| &a.target == k))
            .map(|a| {
                (
                    a.name.to_string(),
                    json!({
                        "AliasName": a.name.as_str(),
                        "AliasArn": kms.alias_arn(region, &a.name),
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
        Ok(out.into())
    }
}
