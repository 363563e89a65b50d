//! VerifyMac: checks an HMAC inside the Region's token; a MAC that does not match is
//! KMSInvalidMacException, as in AWS.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::{KeyRecord, KeyUsage};
use crate::domain::request::ConditionValues;
use crate::kms::asymmetric::{self, mac_hash_for, material_label, require_usage};
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{Blob, Output};

pub struct VerifyMac;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    message: Blob,
    mac_algorithm: String,
    mac: Blob,
    dry_run: Option<bool>,
}

impl Operation for VerifyMac {
    const SPEC: Spec = Spec {
        name: "VerifyMac",
        action: "kms:VerifyMac",
        key_state: Some(Op::VerifyMac),
        pool: Pool::Inline,
        read_only: true,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        require_usage(key, KeyUsage::GenerateVerifyMac, Self::SPEC.name)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add("kms:MacAlgorithm", req.mac_algorithm.as_str());
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let key = call.key()?;
        let hash = mac_hash_for(key, &req.mac_algorithm)?;
        crate::kms::operation::stop_dry_run(req.dry_run)?;
        let label = material_label(key)?;
        let valid = kms
            .token(key.region)?
            .hmac_verify_with(&label, hash, &req.message.0, &req.mac.0)
            .map_err(|e| {
                asymmetric::token_error(e, key.region, &format!("verify {}", req.mac_algorithm))
            })?;
        if !valid {
            return Err(KmsError::without_message(ErrorKind::KmsInvalidMac));
        }
        Ok(json!({
            "KeyId": key.arn(),
            "MacValid": true,
            "MacAlgorithm": req.mac_algorithm,
        })
        .into())
    }
}
