//! GenerateDataKeyWithoutPlaintext: like GenerateDataKey, returning only the ciphertext.

use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;
use crate::kms::wire::b64;

use super::generate_data_key::{generate, Request};

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let dk = generate(
        kms,
        ctx,
        req,
        Op::GenerateDataKeyWithoutPlaintext,
        "GenerateDataKeyWithoutPlaintext",
    )?;
    Ok(json!({
        "CiphertextBlob": b64(&dk.blob),
        "KeyId": dk.key_arn,
        "KeyMaterialId": dk.material_id,
    }))
}
