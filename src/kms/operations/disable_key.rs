//! DisableKey: Disables a key: Enabled → Disabled; crypto with it fails with DisabledException.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyState;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DisableKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for DisableKey {
    const SPEC: Spec = Spec {
        name: "DisableKey",
        action: "kms:DisableKey",
        key_state: Some(Op::DisableKey),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        call.modify_key(kms, |key, _| {
            key.state = KeyState::Disabled;
            Ok(())
        })?;
        Ok(json!({}).into())
    }
}
