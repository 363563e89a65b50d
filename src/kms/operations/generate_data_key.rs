//! GenerateDataKey: a data key from the token's RNG, returned in plaintext and encrypted
//! under the KMS key. The plaintext lives only in zeroising buffers. Shared with
//! GenerateDataKeyWithoutPlaintext, which returns only the ciphertext.

use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, encryption_conditions, EncryptionContext, Output};

pub struct GenerateDataKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub key_id: String,
    pub encryption_context: Option<EncryptionContext>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub recipient: Option<Value>,
    pub dry_run: Option<bool>,
}

/// A generated data key: its plaintext and the ciphertext blob.
pub struct DataKey {
    pub key_arn: String,
    pub material_id: String,
    pub plaintext: Zeroizing<Vec<u8>>,
    pub blob: Vec<u8>,
}

/// The checks of a data key request (both operations): no Recipient, and either a
/// KeySpec or a NumberOfBytes. Returns the data key's length.
pub fn data_key_len(req: &Request) -> KmsResult<usize> {
    if req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    match (req.key_spec.as_deref(), req.number_of_bytes) {
        (Some("AES_256"), None) => Ok(32),
        (Some("AES_128"), None) => Ok(16),
        (None, Some(n)) => Ok(n as usize),
        (Some(_), Some(_)) | (None, None) => Err(KmsError::validation(
            "Please specify either number of bytes or key spec.",
        )),
        (Some(other), None) => Err(KmsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))),
    }
}

/// The condition values of a data key request (both operations).
pub fn data_key_conditions(req: &Request) -> ConditionValues {
    encryption_conditions(None, req.encryption_context.as_ref())
}

/// Generates a data key in the key's token and encrypts it under the key (both
/// operations).
pub fn generate(kms: &Kms, key: &KeyRecord, req: Request) -> KmsResult<DataKey> {
    let len = data_key_len(&req)?;
    let plaintext = kms.token(key.region)?.random(len).map_err(Kms::hsm_error)?;
    let context = req.encryption_context.unwrap_or_default();
    let (blob, material_id) = symmetric::encrypt(kms, key, &plaintext, &context)?;
    Ok(DataKey {
        key_arn: key.arn(),
        material_id,
        plaintext,
        blob,
    })
}

impl Operation for GenerateDataKey {
    const SPEC: Spec = Spec {
        name: "GenerateDataKey",
        action: "kms:GenerateDataKey",
        key_state: Some(Op::GenerateDataKey),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        data_key_len(req).map(|_| ())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        symmetric::require_symmetric(key, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        data_key_conditions(req)
    }

    fn dry_run(req: &Request) -> bool {
        req.dry_run == Some(true)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let dk = generate(kms, call.key()?, req)?;
        let body = json!({
            "CiphertextBlob": b64(&dk.blob),
            "KeyId": dk.key_arn,
            "KeyMaterialId": dk.material_id,
        });
        Ok(Output::with_secret(body, "Plaintext", &dk.plaintext))
    }
}
