//! CancelKeyDeletion: a key pending deletion goes back to Disabled; its deletion job is
//! dropped.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::KeyState;
use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::jobs::delete_job_id;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct CancelKeyDeletion;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for CancelKeyDeletion {
    const SPEC: Spec = Spec {
        name: "CancelKeyDeletion",
        action: "kms:CancelKeyDeletion",
        key_state: Some(Op::CancelKeyDeletion),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        let key = call.modify_key(kms, |key, extra| {
            key.state = KeyState::Disabled;
            key.deletion_date = None;
            key.pending_window_days = None;
            extra.push(Write::DeleteJob {
                id: delete_job_id(key),
            });
            Ok(())
        })?;
        Ok(json!({ "KeyId": key.arn() }).into())
    }
}
