//! Decrypt: the ciphertext names its key and key material, so no KeyId is needed; a KeyId
//! that names another key is IncorrectKeyException.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{Blob, EncryptionContext, Output};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    ciphertext_blob: Blob,
    encryption_context: Option<EncryptionContext>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    recipient: Option<Value>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Output> {
    let req: Request = crate::kms::wire::parse(input)?;
    if req.recipient.is_some() {
        return Err(crate::kms::error::KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    // RSA keys: the caller names the key and the algorithm (AWS requires both); the
    // ciphertext is raw RSA-OAEP output, decrypted inside the key's token.
    if let Some(raw) = req.key_id.as_deref() {
        let key = kms.resolve(ctx, raw)?;
        if crate::kms::asymmetric::is_rsa_encryption_key(&key) {
            let (plaintext, algorithm) = crate::kms::asymmetric::rsa_decrypt(
                kms,
                &key,
                Op::Decrypt,
                req.encryption_algorithm.as_deref(),
                req.encryption_context.as_ref(),
                &req.ciphertext_blob.0,
            )?;
            let body = json!({
                "KeyId": key.arn(),
                "EncryptionAlgorithm": algorithm,
            });
            return Ok(Output::with_secret(body, "Plaintext", &plaintext));
        }
    }
    let context = req.encryption_context.unwrap_or_default();
    let out = symmetric::decrypt(
        kms,
        ctx,
        &req.ciphertext_blob.0,
        &context,
        req.key_id.as_deref(),
        Op::Decrypt,
        "Decrypt",
    )?;
    symmetric::require_algorithm(&out.key, req.encryption_algorithm.as_deref())?;
    let body = json!({
        "KeyId": out.key.arn(),
        "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "KeyMaterialId": out.material_id,
    });
    Ok(Output::with_secret(body, "Plaintext", &out.plaintext))
}
