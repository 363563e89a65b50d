//! ReEncrypt: decrypts under the source key and encrypts under the destination key,
//! without the plaintext leaving the server.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::request::RequestContext;
use crate::kms::asymmetric;
use crate::kms::error::KmsResult;
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{b64, Blob, EncryptionContext};

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
    // RSA keys on either side: RSA-OAEP (see Encrypt and Decrypt).
    let destination_rsa = asymmetric::is_rsa_encryption_key(&destination);
    if !destination_rsa {
        symmetric::require_symmetric(&destination, "ReEncrypt")?;
        key_state::check(Op::ReEncrypt, &destination)?;
        symmetric::require_algorithm(
            &destination,
            req.destination_encryption_algorithm.as_deref(),
        )?;
    }
    let source_rsa = match req.source_key_id.as_deref() {
        Some(raw) => Some(kms.resolve(ctx, raw)?).filter(|k| asymmetric::is_rsa_encryption_key(k)),
        None => None,
    };
    let (source_arn, source_algorithm, source_material, plaintext) = match source_rsa {
        Some(key) => {
            let (plaintext, algorithm) = asymmetric::rsa_decrypt(
                kms,
                &key,
                Op::ReEncrypt,
                req.source_encryption_algorithm.as_deref(),
                req.source_encryption_context.as_ref(),
                &req.ciphertext_blob.0,
            )?;
            (key.arn(), algorithm, None, plaintext)
        }
        None => {
            let source = symmetric::decrypt(
                kms,
                ctx,
                &req.ciphertext_blob.0,
                &req.source_encryption_context.clone().unwrap_or_default(),
                req.source_key_id.as_deref(),
                Op::ReEncrypt,
                "ReEncrypt",
            )?;
            symmetric::require_algorithm(&source.key, req.source_encryption_algorithm.as_deref())?;
            (
                source.key.arn(),
                SYMMETRIC_DEFAULT,
                Some(source.material_id),
                source.plaintext,
            )
        }
    };
    let (blob, destination_algorithm, destination_material) = if destination_rsa {
        let (blob, algorithm) = asymmetric::rsa_encrypt(
            &destination,
            Op::ReEncrypt,
            req.destination_encryption_algorithm.as_deref(),
            req.destination_encryption_context.as_ref(),
            &plaintext,
        )?;
        (blob, algorithm, None)
    } else {
        let (blob, material) = symmetric::encrypt(
            kms,
            &destination,
            &plaintext,
            &req.destination_encryption_context.unwrap_or_default(),
        )?;
        (blob, SYMMETRIC_DEFAULT, Some(material))
    };
    let mut out = json!({
        "CiphertextBlob": b64(&blob),
        "SourceKeyId": source_arn,
        "KeyId": destination.arn(),
        "SourceEncryptionAlgorithm": source_algorithm,
        "DestinationEncryptionAlgorithm": destination_algorithm,
    });
    if let Some(material) = source_material {
        out["SourceKeyMaterialId"] = json!(material);
    }
    if let Some(material) = destination_material {
        out["DestinationKeyMaterialId"] = json!(material);
    }
    Ok(out)
}
