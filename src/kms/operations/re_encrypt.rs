//! ReEncrypt: decrypts under the source key and encrypts under the destination key,
//! without the plaintext leaving the server. RSA keys on either side: RSA-OAEP (see
//! Encrypt and Decrypt).

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::authorization::Target;
use crate::kms::{asymmetric, ciphertext};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric::{self, SYMMETRIC_DEFAULT};
use crate::kms::wire::{b64, encryption_conditions, Blob, EncryptionContext, Output};

pub struct ReEncrypt;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    ciphertext_blob: Blob,
    source_encryption_context: Option<EncryptionContext>,
    source_key_id: Option<String>,
    destination_key_id: String,
    destination_encryption_context: Option<EncryptionContext>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

impl Operation for ReEncrypt {
    /// The resolved key is the destination; the source key (named by the ciphertext)
    /// needs kms:ReEncryptFrom, asked in `run`.
    const SPEC: Spec = Spec {
        name: "ReEncrypt",
        action: "kms:ReEncryptTo",
        key_state: Some(Op::ReEncrypt),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    /// RSA decryption of the source inside the token takes milliseconds: off the
    /// request thread.
    fn pool(req: &Request) -> Pool {
        match req.source_encryption_algorithm.as_deref() {
            None | Some(SYMMETRIC_DEFAULT) => Pool::Inline,
            Some(_) => Pool::Short,
        }
    }

    /// The source comes first, as in AWS: a SourceKeyId that is not the key of the
    /// ciphertext (an HMAC or signing key never is) is IncorrectKeyException before the
    /// destination key is looked at (recorded).
    fn check_request(kms: &Kms, ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        let Some(raw) = req.source_key_id.as_deref() else {
            return Ok(());
        };
        let source = kms.resolve(ctx, raw)?;
        if asymmetric::is_rsa_encryption_key(&source) {
            return Ok(());
        }
        symmetric::ciphertext_key(kms, ctx.region, &req.ciphertext_blob.0, Some(&source))
            .map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.destination_key_id)
    }

    fn check_key(_req: &Request, destination: &KeyRecord) -> KmsResult<()> {
        if asymmetric::is_rsa_encryption_key(destination) {
            return Ok(());
        }
        symmetric::require_symmetric(destination, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        encryption_conditions(
            req.destination_encryption_algorithm.as_deref(),
            req.destination_encryption_context.as_ref(),
        )
    }

    /// Whether the ciphertext was made under the destination key itself.
    fn key_conditions(req: &Request, destination: &KeyRecord, values: &mut ConditionValues) {
        let source = match ciphertext::parse(&req.ciphertext_blob.0) {
            Ok(c) => c.key_id.as_str() == destination.key_id.as_str(),
            Err(_) => req
                .source_key_id
                .as_deref()
                .is_some_and(|s| s == destination.key_id.as_str() || s == destination.arn()),
        };
        values.add("kms:ReEncryptOnSameKey", source.to_string());
    }

    /// A dry run also asks for kms:ReEncryptFrom on the source key, which only `run`
    /// knows (from the ciphertext): `run` stops it, after that check.
    fn dry_run(_req: &Request) -> bool {
        false
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let destination = call.key()?;
        let destination_rsa = asymmetric::is_rsa_encryption_key(destination);
        if !destination_rsa {
            symmetric::require_algorithm(
                destination,
                req.destination_encryption_algorithm.as_deref(),
            )?;
        }
        let named = match req.source_key_id.as_deref() {
            Some(raw) => Some(kms.resolve(call.ctx, raw)?),
            None => None,
        };
        let (source_arn, source_algorithm, source_material, plaintext) = match named {
            Some(source) if asymmetric::is_rsa_encryption_key(&source) => {
                call.check_state(&source)?;
                authorize_source(kms, call, &req, &source, destination)?;
                stop_dry_run(&req)?;
                let (plaintext, algorithm) = asymmetric::rsa_decrypt(
                    kms,
                    &source,
                    req.source_encryption_algorithm.as_deref(),
                    req.source_encryption_context.as_ref(),
                    &req.ciphertext_blob.0,
                )?;
                (source.arn(), algorithm, None, plaintext)
            }
            named => {
                let source = symmetric::ciphertext_key(
                    kms,
                    call.ctx.region,
                    &req.ciphertext_blob.0,
                    named.as_deref(),
                )?;
                symmetric::require_symmetric(&source, Self::SPEC.name)?;
                call.check_state(&source)?;
                authorize_source(kms, call, &req, &source, destination)?;
                stop_dry_run(&req)?;
                let out = symmetric::decrypt(
                    kms,
                    &source,
                    &req.ciphertext_blob.0,
                    &req.source_encryption_context.clone().unwrap_or_default(),
                )?;
                symmetric::require_algorithm(&source, req.source_encryption_algorithm.as_deref())?;
                (
                    source.arn(),
                    SYMMETRIC_DEFAULT,
                    Some(out.material_id),
                    out.plaintext,
                )
            }
        };
        let (blob, destination_algorithm, destination_material) = if destination_rsa {
            let (blob, algorithm) = asymmetric::rsa_encrypt(
                destination,
                req.destination_encryption_algorithm.as_deref(),
                req.destination_encryption_context.as_ref(),
                &plaintext,
            )?;
            (blob, algorithm, None)
        } else {
            let (blob, material) = symmetric::encrypt(
                kms,
                destination,
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
        Ok(out.into())
    }
}

/// DryRunOperationException once every check, both keys' authorization included, passed.
fn stop_dry_run(req: &Request) -> KmsResult<()> {
    if req.dry_run == Some(true) {
        return Err(crate::kms::error::KmsError::dry_run());
    }
    Ok(())
}

/// kms:ReEncryptFrom on the source key, with the source's encryption context and
/// algorithm.
fn authorize_source(
    kms: &Kms,
    call: &Call<'_>,
    req: &Request,
    source: &KeyRecord,
    destination: &KeyRecord,
) -> KmsResult<()> {
    call.authorize_also_with(kms, "kms:ReEncryptFrom", Target::Key(source), &|| {
        let mut values = encryption_conditions(
            req.source_encryption_algorithm.as_deref(),
            req.source_encryption_context.as_ref(),
        );
        values.add(
            "kms:ReEncryptOnSameKey",
            (source.key_id == destination.key_id).to_string(),
        );
        values
    })
}
