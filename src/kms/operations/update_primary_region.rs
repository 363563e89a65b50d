//! UpdatePrimaryRegion: makes a replica the primary key and the primary a replica. Both
//! keys are `Updating` (crypto keeps working) until a durable job swaps the roles.

use serde::Deserialize;
use serde_json::json;

use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{KeyRecord, KeyState};
use crate::domain::region::Region;
use crate::domain::request::ConditionValues;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::authorization::Target;
use crate::kms::key_state::Op;
use crate::kms::multi_region::update_job_id;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::service::Kms;
use crate::kms::wire::Output;

pub struct UpdatePrimaryRegion;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    primary_region: String,
}

/// The key must be a multi-Region primary key.
fn require_primary(key: &KeyRecord) -> KmsResult<()> {
    if key.multi_region.is_none() {
        return Err(KmsError::unsupported(format!(
            "{} is not a multi-region key.",
            key.arn()
        )));
    }
    if !key.is_primary() {
        return Err(KmsError::unsupported(format!(
            "{} is not a multi-region primary key.",
            key.arn()
        )));
    }
    Ok(())
}

impl Operation for UpdatePrimaryRegion {
    const SPEC: Spec = Spec {
        name: "UpdatePrimaryRegion",
        action: "kms:UpdatePrimaryRegion",
        key_state: Some(Op::UpdatePrimaryRegion),
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn key_ref(req: &Request) -> Option<&str> {
        Some(&req.key_id)
    }

    fn check_key(_req: &Request, key: &KeyRecord) -> KmsResult<()> {
        require_primary(key)
    }

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = ConditionValues::default();
        values.add("kms:PrimaryRegion", req.primary_region.as_str());
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let (old, new) = {
            let _guard = kms.write_guard();
            let primary = call.reload(kms)?;
            require_primary(&primary)?;
            let region = Region::parse(&req.primary_region).ok_or_else(|| {
                KmsError::validation(format!(
                    "PrimaryRegion {} is not a valid AWS Region name.",
                    req.primary_region
                ))
            })?;
            if region == primary.region {
                return Err(KmsError::validation(format!(
                    "{} is already the primary key: PrimaryRegion must name the Region of one of its replica keys.",
                    primary.arn()
                )));
            }
            let replica = kms.get_key(region, &primary.key_id).ok_or_else(|| {
                KmsError::not_found(format!(
                    "Key '{}' does not exist",
                    kms.key_arn(region, &primary.key_id)
                ))
            })?;
            call.check_state(&replica)?;
            call.authorize_also_with(kms, Self::SPEC.action, Target::Key(&replica), &|| {
                Self::conditions(&req)
            })?;
            if primary.state != KeyState::Enabled || replica.state != KeyState::Enabled {
                return Err(KmsError::invalid_state(format!(
                    "{} and {} must both be Enabled to update the primary Region.",
                    primary.arn(),
                    replica.arn()
                )));
            }
            let mut p = (*primary).clone();
            let mut r = (*replica).clone();
            p.state = KeyState::Updating;
            r.state = KeyState::Updating;
            let job = JobRecord {
                id: update_job_id(&p.key_id),
                due: kms
                    .clock
                    .now()
                    .plus_millis(kms.config.primary_update_delay_ms),
                kind: JobKind::UpdatePrimary {
                    key_id: p.key_id.clone(),
                    old: p.region,
                    new: r.region,
                },
            };
            kms.commit(vec![Write::PutKey(p), Write::PutKey(r), Write::PutJob(job)])?;
            (primary.region, region)
        };
        kms.jobs_changed.notify_one();
        // CloudTrail records UpdatePrimaryRegion in both Regions.
        let other = if call.ctx.region == old { new } else { old };
        call.audit_also(kms, other, Self::SPEC.name, None);
        Ok(json!({}).into())
    }
}
