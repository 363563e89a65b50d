//! Verify: checks a signature against the public key of an asymmetric SIGN_VERIFY key,
//! inside the Region's token. A signature that does not verify is
//! KMSInvalidSignatureException, as in AWS.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::{KeyRecord, KeyUsage};
use crate::domain::request::ConditionValues;
use crate::kms::asymmetric::{self, public_key, require_usage, signing_input};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Blob, Output};

pub struct Verify;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    message: Blob,
    message_type: Option<String>,
    signature: Blob,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

impl Operation for Verify {
    const SPEC: Spec = Spec {
        name: "Verify",
        action: "kms:Verify",
        key_state: Some(Op::Verify),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    /// ECDSA on a 256-bit curve takes tens of microseconds; RSA and the larger curves
    /// take up to milliseconds: off the request thread.
    fn pool(req: &Request) -> Pool {
        if req.signing_algorithm == "ECDSA_SHA_256" {
            Pool::Inline
        } else {
            Pool::Short
        }
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        require_usage(key, KeyUsage::SignVerify, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        asymmetric::signing_conditions(&req.signing_algorithm, req.message_type.as_deref())
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let (scheme, data) = signing_input(
            key,
            &req.signing_algorithm,
            req.message_type.as_deref(),
            &req.message.0,
        )?;
        crate::kms::operation::stop_dry_run(req.dry_run)?;
        let (kind, spki) = public_key(key)?;
        let valid = kms
            .token(key.region)?
            .verify_with(kind, &spki, scheme, &data, &req.signature.0)
            .map_err(|e| {
                asymmetric::token_error(
                    e,
                    key.region,
                    &format!(
                        "verify with {} ({})",
                        req.signing_algorithm,
                        scheme.mechanism_name()
                    ),
                )
            })?;
        if !valid {
            return Err(KmsError::without_message(ErrorKind::KmsInvalidSignature));
        }
        Ok(json!({
            "KeyId": key.arn(),
            "SignatureValid": true,
            "SigningAlgorithm": req.signing_algorithm,
        })
        .into())
    }
}
