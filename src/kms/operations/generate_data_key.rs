//! GenerateDataKey: a data key from the token's RNG, returned in plaintext and encrypted
//! under the KMS key. The plaintext lives only in zeroising buffers.

use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::domain::request::RequestContext;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, EncryptionContext, Output};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub key_id: String,
    pub encryption_context: Option<EncryptionContext>,
    pub number_of_bytes: Option<i64>,
    pub key_spec: Option<String>,
    pub recipient: Option<Value>,
}

/// A generated data key: its plaintext and the ciphertext blob.
pub struct DataKey {
    pub key_arn: String,
    pub material_id: String,
    pub plaintext: Zeroizing<Vec<u8>>,
    pub blob: Vec<u8>,
}

/// Shared by GenerateDataKey and GenerateDataKeyWithoutPlaintext.
pub fn generate(
    kms: &Kms,
    ctx: &RequestContext,
    req: Request,
    op: Op,
    name: &str,
) -> KmsResult<DataKey> {
    if req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    let len = match (req.key_spec.as_deref(), req.number_of_bytes) {
        (Some("AES_256"), None) => 32,
        (Some("AES_128"), None) => 16,
        (None, Some(n)) => n as usize,
        (Some(_), Some(_)) | (None, None) => {
            return Err(KmsError::validation(
                "Please specify either number of bytes or key spec.",
            ))
        }
        (Some(other), None) => {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
            )))
        }
    };
    let key = kms.resolve(ctx, &req.key_id)?;
    symmetric::require_symmetric(&key, name)?;
    key_state::check(op, &key)?;
    let plaintext = kms.token(key.region)?.random(len).map_err(Kms::hsm_error)?;
    let context = req.encryption_context.unwrap_or_default();
    let (blob, material_id) = symmetric::encrypt(kms, &key, &plaintext, &context)?;
    Ok(DataKey {
        key_arn: key.arn(),
        material_id,
        plaintext,
        blob,
    })
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Output> {
    let req: Request = crate::kms::wire::parse(input)?;
    let dk = generate(kms, ctx, req, Op::GenerateDataKey, "GenerateDataKey")?;
    let body = json!({
        "CiphertextBlob": b64(&dk.blob),
        "KeyId": dk.key_arn,
        "KeyMaterialId": dk.material_id,
    });
    Ok(Output::with_secret(body, "Plaintext", &dk.plaintext))
}
