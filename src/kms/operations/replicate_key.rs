//! ReplicateKey: creates a replica of a multi-Region primary key in another Region of the
//! same partition. The replica starts `Creating`; a durable job copies the material from
//! the primary's token into the replica Region's token (wrapped, never in plaintext
//! outside a token) and moves it to `Enabled` (or `PendingImport` for imported material).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_state::{self, Op};
use crate::kms::model::{KeyRecord, KeyState, MultiRegionRole};
use crate::kms::multi_region::{self, replica_job_id};
use crate::kms::policy::{check_policy, default_policy};
use crate::kms::region::Region;
use crate::kms::{Kms, RequestContext};
use crate::store::{JobKind, JobRecord, Write};

use super::{check_tags_for, merge_tags, tag_json, WireTag};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Request {
    key_id: String,
    replica_region: String,
    policy: Option<String>,
    #[allow(dead_code)]
    bypass_policy_lockout_safety_check: Option<bool>,
    description: Option<String>,
    tags: Option<Vec<WireTag>>,
}

/// Checks the replica Region against the Region rules of the seed: known, enabled,
/// served, same partition.
fn replica_region(kms: &Kms, primary: &KeyRecord, name: &str) -> KmsResult<Region> {
    let region = Region::parse(name).ok_or_else(|| {
        KmsError::validation(format!(
            "ReplicaRegion {name} is not a valid AWS Region name."
        ))
    })?;
    if kms.config.region_disabled(region) {
        return Err(KmsError::unsupported(format!(
            "Region {region} is an opt-in Region that is not enabled for account {}. Enable it (enabled_opt_in_regions) before creating resources there.",
            kms.account()
        )));
    }
    if region.partition() != primary.region.partition() {
        return Err(KmsError::unsupported(format!(
            "Cannot replicate {} to {region}: the replica Region must be in the same AWS partition ({}) as the primary key, and {region} is in {}.",
            primary.arn(),
            primary.region.partition().as_str(),
            region.partition().as_str()
        )));
    }
    if !kms.config.regions.contains(&region) {
        return Err(KmsError::unsupported(format!(
            "hsm-kms does not serve Region {region}. Served Regions: {}.",
            kms.config.served_list()
        )));
    }
    Ok(region)
}

pub fn handle(kms: &Kms, ctx: &RequestContext, input: Value) -> KmsResult<Value> {
    let req: Request = crate::kms::wire::parse(input.clone())?;
    let replica;
    {
        let _guard = kms.write_guard();
        let primary = kms.resolve(ctx, &req.key_id)?;
        if !primary.is_primary() {
            return Err(KmsError::unsupported(format!(
                "{} is not a multi-region primary key.",
                primary.arn()
            )));
        }
        key_state::check(Op::ReplicateKey, &primary)?;
        let region = replica_region(kms, &primary, &req.replica_region)?;
        if let Some(existing) = kms.get_key(region, &primary.key_id) {
            let hint = if existing.state == KeyState::PendingDeletion {
                " It is pending deletion: cancel its deletion (CancelKeyDeletion) or wait until it is deleted."
            } else {
                ""
            };
            return Err(KmsError::new(
                ErrorKind::AlreadyExists,
                format!("Replica key {} already exists.{hint}", existing.arn()),
            ));
        }
        let policy = match req.policy {
            Some(p) => {
                check_policy(&p)?;
                p
            }
            None => default_policy(region, kms.account()),
        };
        let mut tags = Vec::new();
        merge_tags(
            &mut tags,
            check_tags_for(ctx.invoked_by, req.tags.unwrap_or_default())?,
        )?;
        let now = kms.clock.now();
        replica = KeyRecord {
            key_id: primary.key_id.clone(),
            region,
            account_id: primary.account_id.clone(),
            created: now,
            description: req.description.unwrap_or_default(),
            key_spec: primary.key_spec,
            key_usage: primary.key_usage,
            origin: primary.origin,
            state: KeyState::Creating,
            deletion_date: None,
            pending_window_days: None,
            policy,
            tags,
            // Imported material is never copied: the replica imports it itself.
            materials: if primary.origin == crate::kms::model::Origin::External {
                Vec::new()
            } else {
                primary.materials.clone()
            },
            rotation_enabled: primary.rotation_enabled,
            rotation_period_days: primary.rotation_period_days,
            multi_region: Some(MultiRegionRole::Replica),
            next_rotation: primary.next_rotation,
            on_demand_rotations: primary.on_demand_rotations,
            rotation_started: None,
            // The family's key check values travel with the shared properties.
            imported: crate::kms::import::expected_for_replica(&primary),
        };
        let job = JobRecord {
            id: replica_job_id(region, &replica.key_id),
            due: now + kms.config.replica_creation_delay_ms as f64 / 1000.0,
            kind: JobKind::FinishReplica {
                region,
                key_id: replica.key_id.clone(),
            },
        };
        kms.commit(vec![Write::PutKey(replica.clone()), Write::PutJob(job)])?;
    }
    kms.jobs_changed.notify_one();
    // CloudTrail: ReplicateKey in the primary's Region (recorded by the API layer), and a
    // CreateKey in the replica's Region.
    let replica_ctx = RequestContext {
        region: replica.region,
        ..ctx.clone()
    };
    let mut metadata = multi_region::metadata(kms, &replica);
    if let Some(obj) = metadata.as_object_mut() {
        obj.remove("CurrentKeyMaterialId");
    }
    let out_tags: Vec<Value> = replica.tags.iter().map(tag_json).collect();
    let mut out = json!({
        "ReplicaKeyMetadata": metadata,
        "ReplicaPolicy": replica.policy,
    });
    if !out_tags.is_empty() {
        out["ReplicaTags"] = json!(out_tags);
    }
    kms.audit.record_call(
        &replica_ctx,
        kms.account(),
        "CreateKey",
        &input,
        Some(&json!({"KeyMetadata": out["ReplicaKeyMetadata"]})),
        None,
        kms.clock.now(),
    );
    Ok(out)
}
