//! Encrypt: AES-256-GCM under the key's current material, inside the Region's token.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{b64, Blob, EncryptionContext};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    plaintext: Blob,
    encryption_context: Option<EncryptionContext>,
    encryption_algorithm: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let key = kms.resolve(ctx, &req.key_id)?;
    // RSA keys: RSA-OAEP with the public key; the ciphertext is the raw RSA-OAEP output.
    if crate::kms::asymmetric::is_rsa_encryption_key(&key) {
        let (blob, algorithm) = crate::kms::asymmetric::rsa_encrypt(
            &key,
            Op::Encrypt,
            req.encryption_algorithm.as_deref(),
            req.encryption_context.as_ref(),
            &req.plaintext.0,
        )?;
        return Ok(json!({
            "CiphertextBlob": b64(&blob),
            "KeyId": key.arn(),
            "EncryptionAlgorithm": algorithm,
        }));
    }
    symmetric::require_symmetric(&key, "Encrypt")?;
    key_state::check(Op::Encrypt, &key)?;
    symmetric::require_algorithm(&key, req.encryption_algorithm.as_deref())?;
    let context = req.encryption_context.unwrap_or_default();
    let (blob, _material) = symmetric::encrypt(kms, &key, &req.plaintext.0, &context)?;
    Ok(json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.arn(),
        "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
    }))
}
