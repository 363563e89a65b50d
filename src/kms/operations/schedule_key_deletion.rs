//! ScheduleKeyDeletion: the key goes to PendingDeletion; after the waiting period (7–30
//! days, default 30) a durable job destroys its metadata and its token material.

use serde::Deserialize;
use serde_json::json;

use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::KeyState;
use crate::domain::request::{ConditionValues, RequestContext};
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::jobs::delete_job_id;
use crate::kms::key_state::Op;
use crate::kms::multi_region;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct ScheduleKeyDeletion;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    pending_window_in_days: Option<i64>,
}

pub const MIN_DAYS: i64 = 7;
pub const MAX_DAYS: i64 = 30;

impl Request {
    fn days(&self) -> i64 {
        self.pending_window_in_days.unwrap_or(MAX_DAYS)
    }
}

impl Operation for ScheduleKeyDeletion {
    const SPEC: Spec = Spec {
        name: "ScheduleKeyDeletion",
        action: "kms:ScheduleKeyDeletion",
        key_state: Some(Op::ScheduleKeyDeletion),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn check_request(_kms: &Kms, _ctx: &RequestContext, req: &Request) -> KmsResult<()> {
        let days = req.days();
        if days < MIN_DAYS {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DAYS}"
            )));
        }
        if days > MAX_DAYS {
            return Err(KmsError::validation(format!(
                "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to {MAX_DAYS}"
            )));
        }
        Ok(())
    }

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add(
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            req.days().to_string(),
        );
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        // Within MIN_DAYS..=MAX_DAYS (check_request).
        let days = req.days() as u32;
        let now = kms.clock.now();
        let due = now.plus_days(days);
        let key = call.modify_key(kms, |key, extra| {
            // A primary with replicas waits for them: its waiting period starts when the
            // last replica is deleted (multi-region-keys-delete.md).
            let has_replicas = key.is_primary()
                && multi_region::related(kms, &key.key_id)
                    .iter()
                    .any(|k| k.region != key.region);
            if has_replicas {
                key.state = KeyState::PendingReplicaDeletion;
                key.deletion_date = None;
                key.pending_window_days = Some(days);
                return Ok(());
            }
            key.state = KeyState::PendingDeletion;
            key.deletion_date = Some(due);
            key.pending_window_days = Some(days);
            extra.push(Write::PutJob(JobRecord {
                id: delete_job_id(key),
                due,
                kind: JobKind::DeleteKey {
                    region: key.region,
                    key_id: key.key_id.clone(),
                },
            }));
            Ok(())
        })?;
        kms.jobs_changed.notify_one();
        let mut out = json!({
            "KeyId": key.arn(),
            "KeyState": key.state.as_str(),
            "PendingWindowInDays": days,
        });
        if let Some(date) = key.deletion_date {
            out["DeletionDate"] = json!(date);
        }
        Ok(out.into())
    }
}
