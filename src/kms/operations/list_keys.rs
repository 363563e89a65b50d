//! ListKeys: the keys of the request's Region, paged with Limit and Marker.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{page, Output};

pub struct ListKeys;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    limit: Option<i64>,
    marker: Option<String>,
}

impl Operation for ListKeys {
    const SPEC: Spec = Spec {
        name: "ListKeys",
        action: "kms:ListKeys",
        key_state: None,
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let state = kms.state();
        // A principal of another account lists its own account's keys: none here.
        let keys = state
            .keys
            .get(&call.ctx.region)
            .filter(|_| kms.caller_in_other_account(call.ctx).is_none());
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
        Ok(out.into())
    }
}
