//! GenerateDataKeyPairWithoutPlaintext: like GenerateDataKeyPair, without the plaintext
//! private key in the response.

use serde_json::json;

use super::generate_data_key_pair::{check_recipient, generate, pair_conditions, Request};
use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, Output};

pub struct GenerateDataKeyPairWithoutPlaintext;

impl Operation for GenerateDataKeyPairWithoutPlaintext {
    const SPEC: Spec = Spec {
        name: "GenerateDataKeyPairWithoutPlaintext",
        action: "kms:GenerateDataKeyPairWithoutPlaintext",
        key_state: Some(Op::GenerateDataKeyPairWithoutPlaintext),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        check_recipient(req)
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        symmetric::require_symmetric(key, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        pair_conditions(req)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let pair = generate(kms, call.key()?, &req)?;
        Ok(json!({
            "PrivateKeyCiphertextBlob": b64(&pair.private_blob),
            "PublicKey": b64(&pair.public_key),
            "KeyId": pair.key_arn,
            "KeyPairSpec": req.key_pair_spec,
            "KeyMaterialId": pair.material_id,
        })
        .into())
    }
}
