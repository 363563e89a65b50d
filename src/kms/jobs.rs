//! Durable background jobs: rows in the metadata store, run when the server clock passes
//! their due time, resumed after a restart. Each job is idempotent, so one interrupted by a
//! crash simply runs again.

use std::sync::Arc;
use std::time::Duration;

use super::error::KmsResult;
use super::Kms;
use crate::store::{JobKind, JobRecord, Write};

/// Runs due jobs until the process ends. Wakes every second, or when notified.
pub async fn run(kms: Arc<Kms>) {
    loop {
        let k = kms.clone();
        let result = tokio::task::spawn_blocking(move || run_due(&k)).await;
        if let Ok(Err(e)) = result {
            tracing::error!("job failed: {e}");
        }
        tokio::select! {
            _ = kms.jobs_changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Runs every job whose due time has passed.
pub fn run_due(kms: &Kms) -> KmsResult<()> {
    let now = kms.clock.now();
    let due: Vec<JobRecord> = kms
        .state()
        .jobs
        .values()
        .filter(|j| j.due <= now)
        .cloned()
        .collect();
    for job in due {
        run_job(kms, &job)?;
    }
    Ok(())
}

fn run_job(kms: &Kms, job: &JobRecord) -> KmsResult<()> {
    match &job.kind {
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
