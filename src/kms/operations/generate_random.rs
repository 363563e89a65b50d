//! GenerateRandom: bytes from the Region token's random number generator.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<Value>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Output> {
    let req: Request = crate::kms::wire::parse(input)?;
    if req.custom_key_store_id.is_some() || req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "CustomKeyStoreId and Recipient are not supported by hsm-kms.",
        ));
    }
    let n = req
        .number_of_bytes
        .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
    let bytes = kms
        .token(ctx.region)?
        .random(n as usize)
        .map_err(Kms::hsm_error)?;
    Ok(Output::with_secret(json!({}), "Plaintext", &bytes))
}
