//! DescribeKey: a key's metadata, by key id, key ARN, alias name or alias ARN.

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_metadata;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DescribeKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for DescribeKey {
    const SPEC: Spec = Spec {
        name: "DescribeKey",
        action: "kms:DescribeKey",
        key_state: Some(Op::DescribeKey),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        Ok(json!({ "KeyMetadata": key_metadata::of(kms, call.key()?) }).into())
    }
}
