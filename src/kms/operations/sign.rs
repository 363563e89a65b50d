//! Sign: a signature with the private key of an asymmetric SIGN_VERIFY key, made inside the
//! Region's token (RAW messages are hashed on the host; DIGEST messages are the digest).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyUsage;
use crate::domain::request::RequestContext;
use crate::kms::asymmetric::{self, material_label, require_usage, signing_input};
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Blob};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    message: Blob,
    message_type: Option<String>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    require_usage(&key, KeyUsage::SignVerify, "Sign")?;
    key_state::check(Op::Sign, &key)?;
    let (scheme, data) = signing_input(
        &key,
        &req.signing_algorithm,
        req.message_type.as_deref(),
        &req.message.0,
    )?;
    asymmetric::dry_run(req.dry_run)?;
    let label = material_label(&key)?;
    let signature = kms
        .token(key.region)?
        .sign_with(&label, scheme, &data)
        .map_err(|e| {
            asymmetric::token_error(
                e,
                key.region,
                &format!(
                    "sign with {} ({})",
                    req.signing_algorithm,
                    scheme.mechanism_name()
                ),
            )
        })?;
    Ok(json!({
        "KeyId": key.arn(),
        "Signature": b64(&signature),
        "SigningAlgorithm": req.signing_algorithm,
    }))
}
