//! Verify: checks a signature against the public key of an asymmetric SIGN_VERIFY key,
//! inside the Region's token. A signature that does not verify is
//! KMSInvalidSignatureException, as in AWS.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyUsage;
use crate::domain::request::RequestContext;
use crate::kms::asymmetric::{self, public_key, require_usage, signing_input};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::Blob;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    message: Blob,
    message_type: Option<String>,
    signature: Blob,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    require_usage(&key, KeyUsage::SignVerify, "Verify")?;
    key_state::check(Op::Verify, &key)?;
    let (scheme, data) = signing_input(
        &key,
        &req.signing_algorithm,
        req.message_type.as_deref(),
        &req.message.0,
    )?;
    asymmetric::dry_run(req.dry_run)?;
    let (kind, spki) = public_key(&key)?;
    let valid = kms
        .token(key.region)?
        .verify_with(kind, &spki, scheme, &data, &req.signature.0)
        .map_err(|e| {
            asymmetric::token_error(
                e,
                key.region,
                &format!(
                    "verify with {} ({})",
                    req.signing_algorithm,
                    scheme.mechanism_name()
                ),
            )
        })?;
    if !valid {
        return Err(KmsError::new(ErrorKind::KmsInvalidSignature, ""));
    }
    Ok(json!({
        "KeyId": key.arn(),
        "SignatureValid": true,
        "SigningAlgorithm": req.signing_algorithm,
    }))
}
