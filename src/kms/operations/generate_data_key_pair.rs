//! GenerateDataKeyPair: a key pair generated in the Region's token, returned as a PKCS#8
//! private key (plaintext, and encrypted under a symmetric KMS key) and a DER
//! SubjectPublicKeyInfo public key. The plaintext private key lives only in zeroising
//! buffers.

use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::domain::request::RequestContext;
use crate::kms::asymmetric::{self, data_key_pair_kind};
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, EncryptionContext, Output};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub key_id: String,
    pub key_pair_spec: String,
    pub encryption_context: Option<EncryptionContext>,
    pub recipient: Option<Value>,
    pub dry_run: Option<bool>,
}

/// A generated data key pair.
pub struct DataKeyPair {
    pub key_arn: String,
    pub material_id: String,
    pub private_plaintext: Zeroizing<Vec<u8>>,
    pub private_blob: Vec<u8>,
    pub public_key: Vec<u8>,
}

/// Shared by GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.
pub fn generate(
    kms: &Kms,
    ctx: &RequestContext,
    req: &Request,
    op: Op,
    name: &str,
) -> KmsResult<DataKeyPair> {
    if req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    let key = kms.resolve(ctx, &req.key_id)?;
    symmetric::require_symmetric(&key, name)?;
    key_state::check(op, &key)?;
    let kind = data_key_pair_kind(&req.key_pair_spec).ok_or_else(|| {
        KmsError::unsupported(format!(
            "KeyPairSpec {} is not supported by hsm-kms: its tokens have no such key pairs.",
            req.key_pair_spec
        ))
    })?;
    asymmetric::dry_run(req.dry_run)?;
    let token = kms.token(key.region)?;
    let (private_plaintext, public_key) = token.generate_data_key_pair(kind).map_err(|e| {
        asymmetric::token_error(
            e,
            key.region,
            &format!(
                "generate an {} data key pair ({})",
                req.key_pair_spec,
                kind.generation_mechanism()
            ),
        )
    })?;
    let context = req.encryption_context.clone().unwrap_or_default();
    let (private_blob, material_id) = symmetric::encrypt(kms, &key, &private_plaintext, &context)?;
    Ok(DataKeyPair {
        key_arn: key.arn(),
        material_id,
        private_plaintext,
        private_blob,
        public_key,
    })
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Output> {
    let req: Request = crate::kms::wire::parse(input)?;
    let pair = generate(
        kms,
        ctx,
        &req,
        Op::GenerateDataKeyPair,
        "GenerateDataKeyPair",
    )?;
    let body = json!({
        "PrivateKeyCiphertextBlob": b64(&pair.private_blob),
        "PublicKey": b64(&pair.public_key),
        "KeyId": pair.key_arn,
        "KeyPairSpec": req.key_pair_spec,
        "KeyMaterialId": pair.material_id,
    });
    Ok(Output::with_secret(
        body,
        "PrivateKeyPlaintext",
        &pair.private_plaintext,
    ))
}
