//! RotateKeyOnDemand: starts an immediate rotation (at most 25 per key). The new material
//! becomes current once it is in every related Region's token. For a key with imported
//! material (Origin EXTERNAL) the new material is the one imported for rotation
//! (ImportType NEW_KEY_MATERIAL), which every related key must hold first.

use serde::Deserialize;
use serde_json::json;

use crate::domain::job::JobKind;
use crate::domain::key::Origin;
use crate::domain::write::Write;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::import;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::rotation::{self, require_not_replica, require_rotatable, ON_DEMAND};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct RotateKeyOnDemand;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
}

/// AWS's limit on on-demand rotations per key.
pub const MAX_ON_DEMAND: u32 = 25;

impl Operation for RotateKeyOnDemand {
    const SPEC: Spec = Spec {
        name: "RotateKeyOnDemand",
        action: "kms:RotateKeyOnDemand",
        key_state: Some(Op::RotateKeyOnDemand),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, _req: Request) -> KmsResult<Output> {
        let now = kms.clock.now();
        let key = call.modify_key(kms, |key, extra| {
            require_rotatable(key)?;
            require_not_replica(key)?;
            if kms.state().jobs.contains_key(&rotation::job_id(&key.key_id)) {
                return Err(KmsError::new(
                    ErrorKind::Conflict,
                    format!("A key rotation is already in progress for {}.", key.arn()),
                ));
            }
            if key.on_demand_rotations >= MAX_ON_DEMAND {
                return Err(KmsError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {}",
                        key.arn()
                    ),
                ));
            }
            let mut job = rotation::rotation_job(key, ON_DEMAND, now);
            if key.origin == Origin::External {
                // Imported material: the material imported for rotation becomes current.
                let Some(pending) = key.pending_import() else {
                    return Err(KmsError::invalid_state(format!(
                        "No available key material pending rotation for the key: {}.",
                        key.arn()
                    )));
                };
                if !import::in_every_token(kms, key, &pending.id) {
                    return Err(KmsError::invalid_state(if key.multi_region.is_some() {
                        format!(
                            "Key material (id: {}) of {} is pending multi-Region import and rotation: import the same key material into every replica key (ImportType EXISTING_KEY_MATERIAL) before rotating.",
                            pending.id,
                            key.arn()
                        )
                    } else {
                        format!(
                            "Key material (id: {}) of {} is not imported: re-import it (ImportType EXISTING_KEY_MATERIAL) before rotating.",
                            pending.id,
                            key.arn()
                        )
                    }));
                }
                if let JobKind::RotateKey { material_id, .. } = &mut job.kind {
                    *material_id = pending.id.clone();
                }
            }
            key.rotation_started = Some(now);
            extra.push(Write::PutJob(job));
            Ok(())
        })?;
        kms.jobs_changed.notify_one();
        Ok(json!({ "KeyId": key.arn() }).into())
    }
}
