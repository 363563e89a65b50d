//! ReplicateKey: creates a replica of a multi-Region primary key in another Region of the
//! same partition. The replica starts `Creating`; a durable job copies the material from
//! the primary's token into the replica Region's token (wrapped, never in plaintext
//! outside a token) and moves it to `Enabled` (or `PendingImport` for imported material).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::job::{JobKind, JobRecord};
use crate::domain::key::{KeyRecord, KeyState, MultiRegionRole, Origin};
use crate::domain::region::Region;
use crate::domain::request::ConditionValues;
use crate::domain::write::Write;
use crate::kms::error::{ErrorKind, KmsError, KmsResult};
use crate::kms::key_metadata;
use crate::kms::key_state::Op;
use crate::kms::multi_region::replica_job_id;
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::authorization::Target;
use crate::kms::policy::default_policy;
use crate::kms::service::Kms;
use crate::kms::tags::{check_tags, merge_tags, tag_conditions, tag_json, WireTag};
use crate::kms::wire::Output;

pub struct ReplicateKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    key_id: String,
    replica_region: String,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    description: Option<String>,
    tags: Option<Vec<WireTag>>,
}

/// Only a multi-Region primary key has replicas.
fn require_primary(key: &KeyRecord) -> KmsResult<()> {
    if !key.is_primary() {
        return Err(KmsError::unsupported(format!(
            "{} is not a multi-region primary key.",
            key.arn()
        )));
    }
    Ok(())
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

impl Operation for ReplicateKey {
    /// kms:ReplicateKey on the primary key (its key policy, with kms:ReplicaRegion);
    /// `run` asks for kms:CreateKey in the replica's Region (IAM policies, with
    /// kms:MultiRegionKeyType REPLICA) and, with Tags, kms:TagResource.
    const SPEC: Spec = Spec {
        name: "ReplicateKey",
        action: "kms:ReplicateKey",
        key_state: Some(Op::ReplicateKey),
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
        let mut values = tag_conditions(req.tags.as_deref().unwrap_or_default());
        values.add("kms:ReplicaRegion", req.replica_region.as_str());
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let replica;
        {
            let _guard = kms.write_guard();
            let primary = call.reload(kms)?;
            require_primary(&primary)?;
            let region = replica_region(kms, &primary, &req.replica_region)?;
            let wire_tags = req.tags.unwrap_or_default();
            call.authorize_also_with(kms, "kms:CreateKey", Target::Region(region), &|| {
                let mut values = tag_conditions(&wire_tags);
                values.add("kms:KeySpec", primary.key_spec.as_str());
                values.add("kms:KeyUsage", primary.key_usage.as_str());
                values.add("kms:KeyOrigin", primary.origin.as_str());
                values.add("kms:MultiRegion", "true");
                values.add("kms:MultiRegionKeyType", "REPLICA");
                values.add(
                    "kms:BypassPolicyLockoutSafetyCheck",
                    req.bypass_policy_lockout_safety_check
                        .unwrap_or(false)
                        .to_string(),
                );
                values
            })?;
            if !wire_tags.is_empty() {
                call.authorize_also_with(kms, "kms:TagResource", Target::NewKey(region), &|| {
                    tag_conditions(&wire_tags)
                })?;
            }
            // A CreateKey in the replica's Region may be generating material without the
            // write lock: the replica takes a place in the quota the same way.
            let slot = crate::kms::quotas::check_new_key(kms, region)?;
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
            let mut tags = Vec::new();
            merge_tags(&mut tags, check_tags(call.ctx.invoked_by, &wire_tags)?)?;
            let now = kms.clock.now();
            let mut new = KeyRecord {
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
                policy: String::new(),
                tags,
                // Imported material is never copied: the replica imports it itself.
                materials: if primary.origin == Origin::External {
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
            // The replica's key policy is the one given or the default, never the
            // primary's.
            new.policy = match req.policy {
                Some(p) => {
                    call.check_new_policy(
                        kms,
                        &p,
                        &new,
                        req.bypass_policy_lockout_safety_check.unwrap_or(false),
                    )?;
                    p
                }
                None => default_policy(region, kms.account()),
            };
            replica = new;
            let job = JobRecord {
                id: replica_job_id(region, &replica.key_id),
                due: now.plus_millis(kms.config.replica_creation_delay_ms),
                kind: JobKind::FinishReplica {
                    region,
                    key_id: replica.key_id.clone(),
                },
            };
            kms.commit_new_key(vec![Write::PutKey(replica.clone()), Write::PutJob(job)], slot)?;
        }
        kms.jobs_changed.notify_one();
        // CloudTrail: ReplicateKey in the primary's Region (recorded by the API layer), and a
        // CreateKey in the replica's Region.
        let metadata = key_metadata::of(kms, &replica);
        // `ReplicaTags` is always there, `[]` for a replica without tags, as the
        // documented example of ReplicateKey shows it.
        let out_tags: Vec<Value> = replica.tags.iter().map(tag_json).collect();
        let out = json!({
            "ReplicaKeyMetadata": metadata,
            "ReplicaPolicy": replica.policy,
            "ReplicaTags": out_tags,
        });
        call.audit_also(
            kms,
            replica.region,
            "CreateKey",
            Some(&json!({"KeyMetadata": out["ReplicaKeyMetadata"]})),
        );
        Ok(out.into())
    }
}
