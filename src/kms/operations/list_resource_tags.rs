//! ListResourceTags: a key's tags in insertion order, paged.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::tags::tag_json;
use crate::kms::wire::{page, Output};

pub struct ListResourceTags;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
}

impl Operation for ListResourceTags {
    const SPEC: Spec = Spec {
        name: "ListResourceTags",
        action: "kms:ListResourceTags",
        key_state: Some(Op::ListResourceTags),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(_kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        // Insertion order is the listing order: the marker is the zero-padded position.
        let items = call
            .key()?
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("{i:08}"), tag_json(t)));
        let (tags, next) = page(items, req.marker.as_deref(), req.limit);
        let mut out = json!({"Tags": tags, "Truncated": next.is_some()});
        if let Some(m) = next {
            out["NextMarker"] = json!(m);
        }
        Ok(out.into())
    }
}
