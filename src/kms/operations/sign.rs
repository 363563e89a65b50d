//! Sign: a signature with the private key of an asymmetric SIGN_VERIFY key, made inside the
//! Region's token (RAW messages are hashed on the host; DIGEST messages are the digest).

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::{KeyRecord, KeyUsage};
use crate::domain::request::ConditionValues;
use crate::kms::asymmetric::{self, material_label, require_usage, signing_input};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Blob, Output};

pub struct Sign;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    message: Blob,
    message_type: Option<String>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

impl Operation for Sign {
    const SPEC: Spec = Spec {
        name: "Sign",
        action: "kms:Sign",
        key_state: Some(Op::Sign),
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
        let label = material_label(key)?;
        let signature = kms
            .token(key.region)?
            .sign_with(&label, scheme, &data)
            .map_err(|e| {
                asymmetric::token_error(
                    e,
                    key.region,
                    &format!(
                        "sign with {} ({})",
                        req.signing_algorithm,
                        scheme.mechanism_name()
                    ),
                )
            })?;
        Ok(json!({
            "KeyId": key.arn(),
            "Signature": b64(&signature),
            "SigningAlgorithm": req.signing_algorithm,
        })
        .into())
    }
}
