//! GenerateDataKeyWithoutPlaintext: like GenerateDataKey, returning only the ciphertext.

use serde_json::json;

use super::generate_data_key::{data_key_conditions, data_key_len, generate, Request};
use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, Output};

pub struct GenerateDataKeyWithoutPlaintext;

impl Operation for GenerateDataKeyWithoutPlaintext {
    const SPEC: Spec = Spec {
        name: "GenerateDataKeyWithoutPlaintext",
        action: "kms:GenerateDataKeyWithoutPlaintext",
        key_state: Some(Op::GenerateDataKeyWithoutPlaintext),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        data_key_len(req).map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        symmetric::require_symmetric(key, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        data_key_conditions(req)
    }

    fn dry_run(req: &Request) -> bool {
        req.dry_run == Some(true)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let dk = generate(kms, call.key()?, req)?;
        Ok(json!({
            "CiphertextBlob": b64(&dk.blob),
            "KeyId": dk.key_arn,
            "KeyMaterialId": dk.material_id,
        })
        .into())
    }
}
