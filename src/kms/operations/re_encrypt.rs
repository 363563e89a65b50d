//! ReEncrypt: decrypts under the source key and encrypts under the destination key,
//! without the plaintext leaving the server.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{b64, Blob, EncryptionContext};
use crate::kms::{Kms, RequestContext};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    ciphertext_blob: Blob,
    source_encryption_context: Option<EncryptionContext>,
    source_key_id: Option<String>,
    destination_key_id: String,
    destination_encryption_context: Option<EncryptionContext>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input)?;
    let destination = kms.resolve(ctx, &req.destination_key_id)?;
    symmetric::require_symmetric(&destination, "ReEncrypt")?;
    key_state::check(Op::ReEncrypt, &destination)?;
    symmetric::require_algorithm(
        &destination,
        req.destination_encryption_algorithm.as_deref(),
    )?;
    let source = symmetric::decrypt(
        kms,
        ctx,
        &req.ciphertext_blob.0,
        &req.source_encryption_context.unwrap_or_default(),
        req.source_key_id.as_deref(),
        Op::ReEncrypt,
        "ReEncrypt",
    )?;
    symmetric::require_algorithm(&source.key, req.source_encryption_algorithm.as_deref())?;
    let (blob, destination_material) = symmetric::encrypt(
        kms,
        &destination,
        &source.plaintext,
        &req.destination_encryption_context.unwrap_or_default(),
    )?;
    Ok(json!({
        "CiphertextBlob": b64(&blob),
        "SourceKeyId": source.key.arn(),
        "KeyId": destination.arn(),
        "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "SourceKeyMaterialId": source.material_id,
        "DestinationKeyMaterialId": destination_material,
    }))
}
