//! GenerateMac: an HMAC of the message with an HMAC key, computed inside the Region's token.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::{KeyRecord, KeyUsage};
use crate::domain::request::ConditionValues;
use crate::kms::asymmetric::{self, mac_hash_for, material_label, require_usage};
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::{b64, Blob, Output};

pub struct GenerateMac;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    message: Blob,
    mac_algorithm: String,
    dry_run: Option<bool>,
}

impl Operation for GenerateMac {
    const SPEC: Spec = Spec {
        name: "GenerateMac",
        action: "kms:GenerateMac",
        key_state: Some(Op::GenerateMac),
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
        let mac = kms
            .token(key.region)?
            .hmac_with(&label, hash, &req.message.0)
            .map_err(|e| {
                asymmetric::token_error(e, key.region, &format!("compute {}", req.mac_algorithm))
            })?;
        Ok(json!({
            "Mac": b64(&mac),
            "MacAlgorithm": req.mac_algorithm,
            "KeyId": key.arn(),
        })
        .into())
    }
}
