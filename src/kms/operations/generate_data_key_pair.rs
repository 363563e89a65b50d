//! GenerateDataKeyPair: a key pair generated in the Region's token, returned as a PKCS#8
//! private key (plaintext, and encrypted under a symmetric KMS key) and a DER
//! SubjectPublicKeyInfo public key. The plaintext private key lives only in zeroising
//! buffers. Shared with GenerateDataKeyPairWithoutPlaintext.

use serde::Deserialize;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::domain::key::KeyRecord;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::kms::asymmetric::{self, data_key_pair_kind};
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::symmetric;
use crate::kms::wire::{b64, encryption_conditions, EncryptionContext, Output};

pub struct GenerateDataKeyPair;

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

/// The check of a data key pair request alone (both operations): no Recipient.
pub fn check_recipient(req: &Request) -> KmsResult<()> {
    if req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    Ok(())
}

/// The condition values of a data key pair request (both operations).
pub fn pair_conditions(req: &Request) -> ConditionValues {
    let mut values = encryption_conditions(None, req.encryption_context.as_ref());
    values.add("kms:DataKeyPairSpec", req.key_pair_spec.as_str());
    values
}

/// Generates a data key pair in the key's token and encrypts its private key under the
/// key (both operations).
pub fn generate(kms: &Kms, key: &KeyRecord, req: &Request) -> KmsResult<DataKeyPair> {
    let kind = data_key_pair_kind(&req.key_pair_spec).ok_or_else(|| {
        KmsError::unsupported(format!(
            "KeyPairSpec {} is not supported by hsm-kms: its tokens have no such key pairs.",
            req.key_pair_spec
        ))
    })?;
    crate::kms::operation::stop_dry_run(req.dry_run)?;
    let token = kms.token(key.region)?;
    let _place = match kind {
        crate::hsm::PairKind::Rsa(_) => Some(kms.rsa_generation(key.region)?),
        _ => None,
    };
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
    let (private_blob, material_id) = symmetric::encrypt(kms, key, &private_plaintext, &context)?;
    Ok(DataKeyPair {
        key_arn: key.arn(),
        material_id,
        private_plaintext,
        private_blob,
        public_key,
    })
}

impl Operation for GenerateDataKeyPair {
    const SPEC: Spec = Spec {
        name: "GenerateDataKeyPair",
        action: "kms:GenerateDataKeyPair",
        key_state: Some(Op::GenerateDataKeyPair),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        check_recipient(req)
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        symmetric::require_symmetric(key, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        pair_conditions(req)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let pair = generate(kms, call.key()?, &req)?;
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
}
