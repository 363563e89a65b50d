//! Encrypt: AES-256-GCM under the key's current material, inside the Region's token; with
//! an RSA key, RSA-OAEP with its public key (the ciphertext is the raw RSA-OAEP output).

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyRecord;
use crate::domain::request::ConditionValues;
use crate::kms::asymmetric;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{b64, encryption_conditions, Blob, EncryptionContext, Output};

pub struct Encrypt;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    plaintext: Blob,
    encryption_context: Option<EncryptionContext>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

impl Operation for Encrypt {
    const SPEC: Spec = Spec {
        name: "Encrypt",
        action: "kms:Encrypt",
        key_state: Some(Op::Encrypt),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        // RSA keys: the key state comes first, then the algorithm (in `run`).
        if asymmetric::is_rsa_encryption_key(key) {
            return Ok(());
        }
        symmetric::require_symmetric(key, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        encryption_conditions(
            req.encryption_algorithm.as_deref(),
            req.encryption_context.as_ref(),
        )
    }

    fn dry_run(req: &Request) -> bool {
        req.dry_run == Some(true)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        if asymmetric::is_rsa_encryption_key(key) {
            let (blob, algorithm) = asymmetric::rsa_encrypt(
                key,
                req.encryption_algorithm.as_deref(),
                req.encryption_context.as_ref(),
                &req.plaintext.0,
            )?;
            return Ok(json!({
                "CiphertextBlob": b64(&blob),
                "KeyId": key.arn(),
                "EncryptionAlgorithm": algorithm,
            })
            .into());
        }
        symmetric::require_algorithm(key, req.encryption_algorithm.as_deref())?;
        let context = req.encryption_context.unwrap_or_default();
        let (blob, _material) = symmetric::encrypt(kms, key, &req.plaintext.0, &context)?;
        Ok(json!({
            "CiphertextBlob": b64(&blob),
            "KeyId": key.arn(),
            "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
        })
        .into())
    }
}
