//! DisableKeyRotation: stops automatic rotation (on the primary of a multi-Region key,
//! synchronised to every replica). Existing material is kept.

use serde::Deserialize;
use serde_json::json;

use crate::domain::write::Write;
use crate::kms::error::KmsResult;
use crate::kms::key_state::Op;
use crate::kms::multi_region;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::rotation::{require_not_replica, require_rotatable};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DisableKeyRotation;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

impl Operation for DisableKeyRotation {
    const SPEC: Spec = Spec {
        name: "DisableKeyRotation",
        action: "kms:DisableKeyRotation",
        key_state: Some(Op::DisableKeyRotation),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        call.modify_key(kms, |key, extra| {
            require_rotatable(key)?;
            require_not_replica(key)?;
            key.rotation_enabled = false;
            key.next_rotation = None;
            for replica in multi_region::related(kms, &key.key_id) {
                if replica.region != key.region {
                    let mut r = (*replica).clone();
                    r.rotation_enabled = false;
                    r.next_rotation = None;
                    extra.push(Write::PutKey(r));
                }
            }
            Ok(())
        })?;
        Ok(json!({}).into())
    }
}
