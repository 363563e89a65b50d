//! UpdatePrimaryRegion: makes a replica the primary key and the primary a replica. Both
//! keys are `Updating` (crypto keeps working) until a durable job swaps the roles.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::KeyState;
use crate::domain::region::Region;
use crate::domain::request::RequestContext;
use crate::domain::write::Write;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::multi_region::update_job_id;
use crate::kms::service::Kms;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    primary_region: String,
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input.clone())?;
    let (old, new) = {
        let _guard = kms.write_guard();
        let primary = kms.resolve(ctx, &req.key_id)?;
        if primary.multi_region.is_none() {
            return Err(KmsError::unsupported(format!(
                "{} is not a multi-region key.",
                primary.arn()
            )));
        }
        if !primary.is_primary() {
            return Err(KmsError::unsupported(format!(
                "{} is not a multi-region primary key.",
                primary.arn()
            )));
        }
        key_state::check(Op::UpdatePrimaryRegion, &primary)?;
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
        key_state::check(Op::UpdatePrimaryRegion, &replica)?;
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
    let other = RequestContext {
        region: if ctx.region == old { new } else { old },
        ..ctx.clone()
    };
    kms.audit.record_call(
        &other,
        kms.account(),
        "UpdatePrimaryRegion",
        &input,
        None,
        None,
        kms.clock.now(),
    );
    Ok(json!({}))
}
