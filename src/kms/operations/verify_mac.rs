//! VerifyMac: checks an HMAC inside the Region's token; a MAC that does not match is
//! KMSInvalidMacException, as in AWS.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyUsage;
use crate::domain::request::RequestContext;
use crate::kms::asymmetric::{self, mac_hash_for, material_label, require_usage};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::Blob;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    message: Blob,
    mac_algorithm: String,
    mac: Blob,
    dry_run: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    require_usage(&key, KeyUsage::GenerateVerifyMac, "VerifyMac")?;
    key_state::check(Op::VerifyMac, &key)?;
    let hash = mac_hash_for(&key, &req.mac_algorithm)?;
    asymmetric::dry_run(req.dry_run)?;
    let label = material_label(&key)?;
    let valid = kms
        .token(key.region)?
        .hmac_verify_with(&label, hash, &req.message.0, &req.mac.0)
        .map_err(|e| {
            asymmetric::token_error(e, key.region, &format!("verify {}", req.mac_algorithm))
        })?;
    if !valid {
        return Err(KmsError::new(ErrorKind::KmsInvalidMac, ""));
    }
    Ok(json!({
        "KeyId": key.arn(),
        "MacValid": true,
        "MacAlgorithm": req.mac_algorithm,
    }))
}
