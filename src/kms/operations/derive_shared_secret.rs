//! DeriveSharedSecret: ECDH between the private key of a KEY_AGREEMENT key (inside the
//! Region's token, CKM_ECDH1_DERIVE) and another party's public key (DER
//! SubjectPublicKeyInfo). The shared secret is returned to the caller, by design.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::key::{KeyRecord, KeyUsage};
use crate::domain::request::{ConditionValues, RequestContext};
use crate::hsm::PairKind;
use crate::kms::asymmetric::{self, material_label, pair_kind, peer_point, require_usage};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Blob, Output};

pub struct DeriveSharedSecret;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    key_agreement_algorithm: String,
    public_key: Blob,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

impl Operation for DeriveSharedSecret {
    const SPEC: Spec = Spec {
        name: "DeriveSharedSecret",
        action: "kms:DeriveSharedSecret",
        key_state: Some(Op::DeriveSharedSecret),
        pool: Pool::Short,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        if req.recipient.is_some() {
            return Err(KmsError::unsupported(
                "Recipient (Nitro Enclaves attestation) is not supported by hsm-kms.",
            ));
        }
        Ok(())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        require_usage(key, KeyUsage::KeyAgreement, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add("kms:KeyAgreementAlgorithm", req.key_agreement_algorithm.as_str());
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        if req.key_agreement_algorithm != "ECDH" {
            return Err(asymmetric::incompatible(&req.key_agreement_algorithm, key));
        }
        let Some(PairKind::Ec(curve)) = pair_kind(key.key_spec) else {
            return Err(asymmetric::incompatible(&req.key_agreement_algorithm, key));
        };
        // AWS answers a public key that is not a valid point of the key's curve with an
        // empty ValidationException.
        let point =
            peer_point(curve, &req.public_key.0)
                .ok_or_else(|| KmsError::without_message(ErrorKind::Validation))?;
        crate::kms::operation::stop_dry_run(req.dry_run)?;
        let label = material_label(key)?;
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
}
