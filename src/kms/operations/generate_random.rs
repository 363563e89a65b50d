//! GenerateRandom: bytes from the Region token's random number generator.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::{KmsError, KmsResult};
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct GenerateRandom;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<Value>,
}

impl Operation for GenerateRandom {
    const SPEC: Spec = Spec {
        name: "GenerateRandom",
        action: "kms:GenerateRandom",
        key_state: None,
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        if req.custom_key_store_id.is_some() || req.recipient.is_some() {
            return Err(KmsError::unsupported(
                "CustomKeyStoreId and Recipient are not supported by hsm-kms.",
            ));
        }
        let n = req
            .number_of_bytes
            .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
        let bytes = kms
            .token(call.ctx.region)?
            .random(n as usize)
            .map_err(Kms::hsm_error)?;
        Ok(Output::with_secret(json!({}), "Plaintext", &bytes))
    }
}
