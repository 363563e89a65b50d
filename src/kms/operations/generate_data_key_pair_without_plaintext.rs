//! GenerateDataKeyPairWithoutPlaintext: like GenerateDataKeyPair, without the plaintext
//! private key in the response.

use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;
use crate::kms::wire::b64;

use super::generate_data_key_pair::{generate, Request};

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let pair = generate(
        kms,
        ctx,
        &req,
        Op::GenerateDataKeyPairWithoutPlaintext,
        "GenerateDataKeyPairWithoutPlaintext",
    )?;
    Ok(json!({
        "PrivateKeyCiphertextBlob": b64(&pair.private_blob),
        "PublicKey": b64(&pair.public_key),
        "KeyId": pair.key_arn,
        "KeyPairSpec": req.key_pair_spec,
        "KeyMaterialId": pair.material_id,
    }))
}
