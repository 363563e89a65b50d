//! Durable background jobs: rows in the metadata store, run when the server clock passes
//! their due time, resumed after a restart. Each job is idempotent, so one interrupted by a
//! crash simply runs again.

use std::sync::Arc;
use std::time::Duration;

use super::error::{KmsResult, Report};
use super::service::Kms;
use crate::domain::ids::KeyId;
use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{KeyRecord, KeyState};
use crate::domain::region::Region;
use crate::domain::write::Write;

/// The id of the deletion job of a key.
pub fn delete_job_id(key: &KeyRecord) -> String {
    format!("delete-key/{}/{}", key.region, key.key_id)
}

/// Runs due jobs until the process ends. Wakes every second, or when notified.
pub async fn run(kms: Arc<Kms>) {
    loop {
        let k = kms.clone();
        let result = tokio::task::spawn_blocking(move || run_due(&k)).await;
        if let Ok(Err(e)) = result {
            tracing::error!("jobs could not run: {}", Report(&e));
        }
        // Sleep until the next job is due (at most a second: the clock may be moved).
        let earliest = kms.job_retries.earliest(kms.state().jobs.values());
        let wait = earliest
            .map_or(1.0, |at| at.secs_since(kms.clock.now()))
            .clamp(0.001, 1.0);
        tokio::select! {
            _ = kms.jobs_changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
        }
    }
}

/// Runs every job whose due time has passed, one caller at a time (the job runner and the
/// admin API's clock move both call it; a job is idempotent, not safe to run twice at
/// once).
pub fn run_due(kms: &Kms) -> KmsResult<()> {
    let _one = kms.jobs_running.lock();
    super::rotation::schedule_due(kms)?;
    let now = kms.clock.now();
    let due: Vec<JobRecord> = kms
        .state()
        .jobs
        .values()
        .filter(|j| j.due <= now && kms.job_retries.ready(&j.id, now))
        .cloned()
        .collect();
    // One failing job must not hold up the others; it is retried with a backoff.
    for job in due {
        match run_job(kms, &job) {
            Ok(()) => kms.job_retries.succeeded(&job.id),
            Err(e) => {
                kms.job_retries.failed(&job.id, now);
                tracing::error!(job = %job.id, "job failed, will retry: {}", Report(&e));
            }
        }
    }
    Ok(())
}

fn run_job(kms: &Kms, job: &JobRecord) -> KmsResult<()> {
    match &job.kind {
        JobKind::ExpireImportedMaterial { .. }
        | JobKind::DestroyImportedMaterial { .. }
        | JobKind::DropImportWrappingKey { .. } => super::import::run_job(kms, job),
        JobKind::FinishReplica { .. } | JobKind::UpdatePrimary { .. } => {
            super::multi_region::run(kms, job)
        }
        JobKind::RotateKey {
            region,
            key_id,
            material_id,
            rotation_type,
        } => super::rotation::run(kms, job, *region, key_id, material_id, rotation_type),
        JobKind::DeleteKey { region, key_id } => {
            let _guard = kms.write_guard();
            let Some(key) = kms.get_key(*region, key_id) else {
                return kms.commit(vec![Write::DeleteJob { id: job.id.clone() }]);
            };
            // Token material first: if we crash after this, the job runs again and finds
            // nothing left to destroy in the token.
            let token = kms.token(*region)?;
            for m in &key.materials {
                token
                    .destroy(&m.token_label(key_id))
                    .map_err(Kms::hsm_error)?;
            }
            let mut batch = vec![
                Write::DeleteKey {
                    region: *region,
                    key_id: key_id.clone(),
                },
                Write::DeleteJob { id: job.id.clone() },
            ];
            if let Some(aliases) = kms.state().aliases.get(region) {
                for a in aliases.values().filter(|a| &a.target == key_id) {
                    batch.push(Write::DeleteAlias {
                        region: *region,
                        name: a.name.clone(),
                    });
                }
            }
            batch.extend(start_primary_waiting_period(kms, *region, key_id));
            kms.commit(batch)?;
            tracing::info!(region = %region, key = %key_id, "deleted key and its token material");
            kms.audit.record_service_event(
                *region,
                "DeleteKey",
                &kms.key_arn(*region, key_id),
                kms.account(),
                kms.clock.now(),
            );
            Ok(())
        }
    }
}

/// When the last replica of a primary in `PendingReplicaDeletion` is deleted, the
/// primary's waiting period starts: it moves to `PendingDeletion` with its deletion date
/// counted from now.
fn start_primary_waiting_period(kms: &Kms, deleted_region: Region, key_id: &KeyId) -> Vec<Write> {
    if !key_id.is_multi_region() {
        return Vec::new();
    }
    let family = super::multi_region::related(kms, key_id);
    let remaining: Vec<_> = family
        .iter()
        .filter(|k| k.region != deleted_region)
        .collect();
    let [primary] = remaining.as_slice() else {
        return Vec::new();
    };
    if !primary.is_primary() || primary.state != KeyState::PendingReplicaDeletion {
        return Vec::new();
    }
    let days = primary.pending_window_days.unwrap_or(30);
    let due = kms.clock.now().plus_days(days);
    let mut p = (***primary).clone();
    p.state = KeyState::PendingDeletion;
    p.deletion_date = Some(due);
    let job = JobRecord {
        id: delete_job_id(&p),
        due,
        kind: JobKind::DeleteKey {
            region: p.region,
            key_id: p.key_id.clone(),
        },
    };
    vec![Write::PutKey(p), Write::PutJob(job)]
}
