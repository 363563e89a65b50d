//! Decrypt: the ciphertext names its key and key material, so no KeyId is needed; a KeyId
//! that names another key is IncorrectKeyException. RSA keys: the caller names the key
//! and the algorithm (AWS requires both); the ciphertext is raw RSA-OAEP output,
//! decrypted inside the key's token.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::asymmetric;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{encryption_conditions, Blob, EncryptionContext, Output};

pub struct Decrypt;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    ciphertext_blob: Blob,
    encryption_context: Option<EncryptionContext>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

/// Whether the request takes the RSA path: it names an RSA encryption key.
fn rsa(req: &Request, key: &KeyRecord) -> bool {
    req.key_id.is_some() && asymmetric::is_rsa_encryption_key(key)
}

impl Operation for Decrypt {
    const SPEC: Spec = Spec {
        name: "Decrypt",
        action: "kms:Decrypt",
        key_state: Some(Op::Decrypt),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    /// RSA decryption inside the token takes milliseconds: off the request thread.
    fn pool(req: &Request) -> Pool {
        match req.encryption_algorithm.as_deref() {
            None | Some(SYMMETRIC_DEFAULT) => Pool::Inline,
            Some(_) => Pool::Short,
        }
    }

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        if req.recipient.is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
            ));
        }
        Ok(())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        req.key_id.as_deref()
    }

    /// The key the caller names if it is an RSA key; otherwise the key the ciphertext
    /// names (which must be the one the caller names, if any).
    fn resolve(
        kms: &Kms,
        ctx: &RequestContext,
        req: &Request,
    ) -> KmsResult<Option<Arc<KeyRecord>>> {
        let named = match req.key_id.as_deref() {
            Some(raw) => Some(kms.resolve(ctx, raw)?),
            None => None,
        };
        if named
            .as_ref()
            .is_some_and(|k| asymmetric::is_rsa_encryption_key(k))
        {
            return Ok(named);
        }
        symmetric::ciphertext_key(kms, ctx.region, &req.ciphertext_blob.0, named.as_deref())
            .map(Some)
    }

    fn check_key(req: &Request, key: &KeyRecord) -> KmsResult<()> {
        if rsa(req, key) {
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
        if rsa(&req, key) {
            let (plaintext, algorithm) = asymmetric::rsa_decrypt(
                kms,
                key,
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
        let context = req.encryption_context.unwrap_or_default();
        let out = symmetric::decrypt(kms, key, &req.ciphertext_blob.0, &context)?;
        symmetric::require_algorithm(key, req.encryption_algorithm.as_deref())?;
        let body = json!({
            "KeyId": key.arn(),
            "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
            "KeyMaterialId": out.material_id,
        });
        Ok(Output::with_secret(body, "Plaintext", &out.plaintext))
    }
}
