//! UntagResource: removes tags from a key by tag key.

use serde::Deserialize;
use serde_json::json;

use crate::domain::request::ConditionValues;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct UntagResource;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    tag_keys: Vec<String>,
}

impl Operation for UntagResource {
    const SPEC: Spec = Spec {
        name: "UntagResource",
        action: "kms:UntagResource",
        key_state: Some(Op::UntagResource),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        for k in &req.tag_keys {
            values.add("aws:TagKeys", k.as_str());
        }
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        call.modify_key(kms, |key, _| {
            key.tags.retain(|t| !req.tag_keys.contains(&t.key));
            Ok(())
        })?;
        Ok(json!({}).into())
    }
}
