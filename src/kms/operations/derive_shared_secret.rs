//! DeriveSharedSecret: ECDH between the private key of a KEY_AGREEMENT key (inside the
//! Region's token, CKM_ECDH1_DERIVE) and another party's public key (DER
//! SubjectPublicKeyInfo). The shared secret is returned to the caller, by design.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::KeyUsage;
use crate::domain::request::RequestContext;
use crate::hsm::asymmetric::PairKind;
use crate::kms::asymmetric::{self, material_label, pair_kind, peer_point, require_usage};
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::service::Kms;
use crate::kms::wire::{Blob, Output};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    key_agreement_algorithm: String,
    public_key: Blob,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Output> {
    let req: Request = crate::kms::wire::parse(input)?;
    if req.recipient.is_some() {
        return Err(KmsError::unsupported(
            "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
        ));
    }
    let key = kms.resolve(ctx, &req.key_id)?;
    require_usage(&key, KeyUsage::KeyAgreement, "DeriveSharedSecret")?;
    key_state::check(Op::DeriveSharedSecret, &key)?;
    if req.key_agreement_algorithm != "ECDH" {
        return Err(asymmetric::incompatible(&req.key_agreement_algorithm, &key));
    }
    let Some(PairKind::Ec(curve)) = pair_kind(key.key_spec) else {
        return Err(asymmetric::incompatible(&req.key_agreement_algorithm, &key));
    };
    // AWS answers a public key that is not a valid point of the key's curve with an empty
    // ValidationException.
    let point = peer_point(curve, &req.public_key.0).ok_or_else(|| KmsError::validation(""))?;
    asymmetric::dry_run(req.dry_run)?;
    let label = material_label(&key)?;
    let secret = kms
        .token(key.region)?
        .ecdh_with(&label, curve, &point)
        .map_err(|e| {
            asymmetric::token_error(
                e,
                key.region,
                &format!(
                    "derive an ECDH secret on {} (CKM_ECDH1_DERIVE)",
                    curve.name()
                ),
            )
        })?;
    let body = json!({
        "KeyId": key.arn(),
        "KeyAgreementAlgorithm": "ECDH",
        "KeyOrigin": key.origin.as_str(),
    });
    Ok(Output::with_secret(body, "SharedSecret", &secret))
}
