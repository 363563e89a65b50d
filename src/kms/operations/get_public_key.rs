//! GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, read from its token when
//! the key pair was generated and kept with the key's metadata (so every Region of a
//! multi-Region key returns the same bytes), plus the key's usage and algorithms.

use serde::Deserialize;
use serde_json::json;

use crate::kms::asymmetric::public_key;
use crate::kms::error::KmsResult;
use crate::kms::key_spec;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Output};

pub struct GetPublicKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for GetPublicKey {
    const SPEC: Spec = Spec {
        name: "GetPublicKey",
        action: "kms:GetPublicKey",
        key_state: Some(Op::GetPublicKey),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(_kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let (_, spki) = public_key(key)?;
        let mut out = json!({
            "KeyId": key.arn(),
            "PublicKey": b64(&spki),
            "CustomerMasterKeySpec": key.key_spec.as_str(),
            "KeySpec": key.key_spec.as_str(),
            "KeyUsage": key.key_usage.as_str(),
        });
        if let Some((member, algorithms)) =
            key_spec::algorithm_members(key.key_spec, key.key_usage)
        {
            if !algorithms.is_empty() {
                out[member] = json!(algorithms);
            }
        }
        Ok(out.into())
    }
}
