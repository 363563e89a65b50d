//! UpdateKeyDescription: replaces a key's description (independent per Region).

use serde::Deserialize;
use serde_json::json;

use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct UpdateKeyDescription;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    description: String,
}

impl Operation for UpdateKeyDescription {
    const SPEC: Spec = Spec {
        name: "UpdateKeyDescription",
        action: "kms:UpdateKeyDescription",
        key_state: Some(Op::UpdateKeyDescription),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        call.modify_key(kms, |key, _| {
            key.description = req.description;
            Ok(())
        })?;
        Ok(json!({}).into())
    }
}
