//! DeleteImportedKeyMaterial: imported material leaves the token at once. Which material
//! and which keys, as AWS documents it:
//!
//! - Without KeyMaterialId the current material is deleted; the key returns to
//!   `PendingImport` (a key pending deletion keeps its state). Importing the same material
//!   again brings the key back, with the same key material id.
//! - Material that is permanently associated with the key (current or earlier,
//!   `NON_CURRENT`) leaves this key only: in a multi-Region family the other keys are
//!   unchanged. The key lists it as `PENDING_IMPORT` and is `PendingImport` (unless
//!   pending deletion) until it is imported again: a key is usable only while every
//!   material permanently associated with it is imported (`import::refresh_state`).
//! - Material pending rotation (`PENDING_ROTATION`,
//!   `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`) is not permanently associated: deleted
//!   from a single-Region key or a multi-Region primary it leaves the key and every
//!   related replica key (and their tokens), and different new material can take its
//!   place. Deleted from a replica, it leaves that replica's token only; the family still
//!   waits for it there. No key's state changes.
//!
//! The metadata of every affected key and one durable job per token that holds the
//! material are committed together; the objects are then destroyed at once, and a crash
//! (or a token error) before that leaves the jobs to finish it.

use serde::Deserialize;
use serde_json::json;

use crate::domain::key::MultiRegionRole;
use crate::domain::region::Region;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult, Report};
use crate::kms::import;
use crate::kms::key_state::Op;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct DeleteImportedKeyMaterial;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    key_material_id: Option<String>,
}

impl Operation for DeleteImportedKeyMaterial {
    const SPEC: Spec = Spec {
        name: "DeleteImportedKeyMaterial",
        action: "kms:DeleteImportedKeyMaterial",
        key_state: Some(Op::DeleteImportedKeyMaterial),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let now = kms.clock.now();
        let mut holders: Vec<Region> = Vec::new();
        let mut deleted: Option<String> = None;
        let key = call.modify_key(kms, |k, extra| {
            let target = match &req.key_material_id {
                Some(id) => {
                    if !k.imported.iter().any(|m| &m.id == id) {
                        return Err(KmsError::not_found(format!(
                            "Key material {id} is not associated with {}.",
                            k.arn()
                        )));
                    }
                    id.clone()
                }
                None => match k.current_material().map(|m| m.id.clone()).or_else(|| {
                    k.imported
                        .iter()
                        .rev()
                        .find(|m| m.imported_at.is_some())
                        .map(|m| m.id.clone())
                }) {
                    Some(id) => id,
                    None => return Ok(()),
                },
            };
            let pending = k
                .imported
                .iter()
                .any(|m| m.id == target && m.pending_rotation);
            if pending && k.multi_region != Some(MultiRegionRole::Replica) {
                let (writes, regions) = import::dissociate_pending(kms, k, &target);
                extra.extend(writes);
                holders = regions;
            } else {
                if k.material(&target).is_some() {
                    holders.push(k.region);
                }
                import::take_material_out(k, Some(std::slice::from_ref(&target)));
            }
            // Other materials may still expire later.
            extra.push(import::expiry_write(k));
            for region in &holders {
                extra.push(Write::PutJob(import::destroy_job(
                    *region, &k.key_id, &target, now,
                )));
            }
            deleted = Some(target);
            Ok(())
        })?;
        if let Some(id) = &deleted {
            for region in holders {
                if let Err(e) = import::destroy_deleted(kms, region, &key.key_id, id) {
                    // The job stays and the job runner retries it.
                    tracing::error!(%region, key = %key.key_id, material = %id, "cannot destroy deleted key material yet: {}", Report(&e));
                    kms.jobs_changed.notify_one();
                }
            }
        }
        let mut out = json!({ "KeyId": key.arn() });
        if let Some(id) = deleted {
            out["KeyMaterialId"] = json!(id);
        }
        Ok(out.into())
    }
}
