//! Multi-Region keys: related keys share a key id (`mrk-…`) across the Regions of one
//! partition. This module derives the MultiRegionConfiguration from the keys that exist,
//! and runs the durable jobs that finish a replica (material transport, `Creating` →
//! `Enabled`) and that swap the primary Region (`Updating` → `Enabled`).

use std::sync::Arc;

use super::error::{KmsError, KmsResult};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{KeyRecord, KeyState, MultiRegionRole, Origin};
use crate::domain::region::Region;
use crate::domain::write::Write;

/// Every key with this id, in every served Region (primary and replicas), in Region order.
pub fn related(kms: &Kms, key_id: &KeyId) -> Vec<Arc<KeyRecord>> {
    let state = kms.state();
    let mut out: Vec<Arc<KeyRecord>> = kms
        .config
        .regions
        .iter()
        .filter_map(|r| state.keys.get(r).and_then(|m| m.get(key_id)).cloned())
        .collect();
    out.sort_by_key(|k| k.region.as_str());
    out
}

/// The primary key of a multi-Region key's family.
pub fn primary(kms: &Kms, key_id: &KeyId) -> Option<Arc<KeyRecord>> {
    related(kms, key_id).into_iter().find(|k| k.is_primary())
}

/// Job id for finishing a replica.
pub fn replica_job_id(region: Region, key_id: &KeyId) -> String {
    format!("finish-replica/{region}/{key_id}")
}

/// Job id for finishing an UpdatePrimaryRegion.
pub fn update_job_id(key_id: &KeyId) -> String {
    format!("update-primary/{key_id}")
}

/// Finishes a replica: copies every material version from the primary's token into the
/// replica's token (wrapped under the Region pair's trusted key-encryption key), then
/// moves the replica to `Enabled` (or `PendingImport` for imported material).
/// Idempotent: material already present is skipped.
pub fn finish_replica(kms: &Kms, job: &JobRecord, region: Region, key_id: &KeyId) -> KmsResult<()> {
    let Some(replica) = kms.get_key(region, key_id) else {
        return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
    };
    // The material is copied whatever state the replica reached meanwhile (it may have
    // been scheduled for deletion while Creating and then restored); only the move out of
    // `Creating` depends on the state.
    let source = primary(kms, key_id)
        .ok_or_else(|| KmsError::internal(format!("{key_id} has no primary key")))?;
    if replica.origin != Origin::External {
        for material in &replica.materials {
            kms.hsm()
                .replicate_material(source.region, region, &material.token_label(key_id))
                .map_err(Kms::hsm_error)?;
        }
    }
    let _guard = kms.write_guard();
    let Some(current) = kms.get_key(region, key_id) else {
        return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
    };
    let mut done = (*current).clone();
    if done.state == KeyState::Creating {
        done.state = if done.origin == Origin::External {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        };
    }
    kms.commit(vec![
        Write::PutKey(done),
        Write::DeleteJob { id: job.id.clone() },
    ])?;
    kms.audit.record_service_event(
        region,
        "SynchronizeMultiRegionKey",
        &current.arn(),
        kms.account(),
        kms.clock.now(),
    );
    tracing::info!(%region, key = %key_id, "replica ready");
    Ok(())
}

/// Finishes an UpdatePrimaryRegion: the new primary becomes PRIMARY, the old one a
/// replica, both return to `Enabled`; every other replica follows the new primary
/// because the configuration is derived from the roles.
pub fn finish_update(
    kms: &Kms,
    job: &JobRecord,
    key_id: &KeyId,
    old: Region,
    new: Region,
) -> KmsResult<()> {
    let _guard = kms.write_guard();
    let mut batch = vec![Write::DeleteJob { id: job.id.clone() }];
    for (region, role) in [
        (old, MultiRegionRole::Replica),
        (new, MultiRegionRole::Primary),
    ] {
        if let Some(k) = kms.get_key(region, key_id) {
            let mut k = (*k).clone();
            k.multi_region = Some(role);
            if k.state == KeyState::Updating {
                k.state = KeyState::Enabled;
            }
            batch.push(Write::PutKey(k));
        }
    }
    kms.commit(batch)?;
    for region in [old, new] {
        kms.audit.record_service_event(
            region,
            "SynchronizeMultiRegionKey",
            &kms.key_arn(region, key_id),
            kms.account(),
            kms.clock.now(),
        );
    }
    tracing::info!(key = %key_id, %old, %new, "primary Region updated");
    Ok(())
}

/// Runs a multi-Region job.
pub fn run(kms: &Kms, job: &JobRecord) -> KmsResult<()> {
    match &job.kind {
        JobKind::FinishReplica { region, key_id } => finish_replica(kms, job, *region, key_id),
        JobKind::UpdatePrimary { key_id, old, new } => finish_update(kms, job, key_id, *old, *new),
        _ => Ok(()),
    }
}
