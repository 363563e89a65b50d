//! CreateKey: a new KMS key in the request's Region, its material generated inside that
//! Region's token.

use serde::Deserialize;
use serde_json::json;

use crate::domain::ids::KeyId;
use crate::domain::key::{KeyRecord, KeySpec, KeyState, KeyUsage, MultiRegionRole, Origin};
use crate::domain::request::ConditionValues;
use crate::domain::write::Write;
use crate::hsm::Extractability;
use crate::kms::error::{KmsError, KmsResult};
use crate::kms::operation::{Call, Operation, Pool, Spec};
use crate::kms::authorization::Target;
use crate::kms::policy::default_policy;
use crate::kms::service::Kms;
use crate::kms::tags::{check_tags, merge_tags, tag_conditions, WireTag};
use crate::kms::wire::Output;
use crate::kms::{key_metadata, key_spec, material};

pub struct CreateKey;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    tags: Option<Vec<WireTag>>,
    multi_region: Option<bool>,
    xks_key_id: Option<String>,
}

impl Operation for CreateKey {
    const SPEC: Spec = Spec {
        name: "CreateKey",
        action: "kms:CreateKey",
        key_state: None,
        pool: Pool::Long,
        read_only: false,
    };
    type Request = Request;

    fn conditions(req: &Request) -> ConditionValues {
        let mut values = tag_conditions(req.tags.as_deref().unwrap_or_default());
        let spec = req.key_spec.as_deref().or(req.customer_master_key_spec.as_deref());
        values.add("kms:KeySpec", spec.unwrap_or("SYMMETRIC_DEFAULT"));
        values.add(
            "kms:KeyUsage",
            req.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT"),
        );
        values.add("kms:KeyOrigin", req.origin.as_deref().unwrap_or("AWS_KMS"));
        values.add(
            "kms:MultiRegion",
            req.multi_region.unwrap_or(false).to_string(),
        );
        if req.multi_region == Some(true) {
            values.add("kms:MultiRegionKeyType", "PRIMARY");
        }
        values.add(
            "kms:BypassPolicyLockoutSafetyCheck",
            req.bypass_policy_lockout_safety_check
                .unwrap_or(false)
                .to_string(),
        );
        values
    }

    fn run(kms: &Kms, call: &Call<'_>, req: Request) -> KmsResult<Output> {
        let region = call.ctx.region;
        if let Some(own) = kms.caller_in_other_account(call.ctx) {
            return Err(KmsError::unsupported(format!(
                "hsm-kms keeps the keys of account {} only: a principal of account {own} can use them across accounts (by key ARN), not create keys of its own.",
                kms.account()
            )));
        }
        // A place in the Region's key quota, held until the key is committed or this call
        // fails (the key's material is generated meanwhile, without a lock).
        let slot = crate::kms::quotas::check_new_key(kms, region)?;
        if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
            return Err(KmsError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
            ));
        }
        let spec_text = req
            .key_spec
            .or(req.customer_master_key_spec)
            .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_string());
        let key_spec = KeySpec::parse(&spec_text)
            .ok_or_else(|| KmsError::validation(format!("KeySpec {spec_text} is not valid.")))?;
        if req.key_usage.is_none() && key_spec != KeySpec::SymmetricDefault {
            return Err(KmsError::validation(
                "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
            ));
        }
        let usage_text = req
            .key_usage
            .unwrap_or_else(|| "ENCRYPT_DECRYPT".to_string());
        let key_usage = KeyUsage::parse(&usage_text)
            .ok_or_else(|| KmsError::validation(format!("KeyUsage {usage_text} is not valid.")))?;
        if !key_spec::allows(key_spec, key_usage) {
            return Err(KmsError::validation(format!(
                "KeyUsage {} is not compatible with KeySpec {}",
                key_usage.as_str(),
                key_spec.as_str()
            )));
        }
        let origin_text = req.origin.unwrap_or_else(|| "AWS_KMS".to_string());
        let origin = Origin::parse(&origin_text)
            .ok_or_else(|| KmsError::validation(format!("Origin {origin_text} is not valid.")))?;
        if origin != Origin::AwsKms && origin != Origin::External {
            return Err(KmsError::unsupported(format!(
                "Origin {} is not supported by hsm-kms yet.",
                origin.as_str()
            )));
        }
        if req.custom_key_store_id.is_some() || req.xks_key_id.is_some() {
            return Err(KmsError::unsupported(
                "Custom key stores are not supported by hsm-kms.",
            ));
        }
        let wire_tags = req.tags.unwrap_or_default();
        if !wire_tags.is_empty() {
            // Tags need kms:TagResource as well (IAM policies).
            call.authorize_also_with(kms, "kms:TagResource", Target::NewKey(region), &|| {
                tag_conditions(&wire_tags)
            })?;
        }
        let mut tags = Vec::new();
        merge_tags(&mut tags, check_tags(call.ctx.invoked_by, &wire_tags)?)?;

        let now = kms.clock.now();
        let multi_region = req.multi_region.unwrap_or(false);
        let (key_id, extractability, role) = if multi_region {
            (
                KeyId::new_multi_region(),
                Extractability::WrappedUnderTrustedKey,
                Some(MultiRegionRole::Primary),
            )
        } else {
            (KeyId::new_single_region(), Extractability::Never, None)
        };
        // Origin EXTERNAL: no material until ImportKeyMaterial (state PendingImport).
        let external = origin == Origin::External;
        let mut key = KeyRecord {
            key_id,
            region,
            account_id: kms.account().to_string(),
            created: now,
            description: req.description.unwrap_or_default(),
            key_spec,
            key_usage,
            origin,
            state: if external {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            deletion_date: None,
            pending_window_days: None,
            policy: default_policy(region, kms.account()),
            tags,
            materials: Vec::new(),
            rotation_enabled: false,
            rotation_period_days: None,
            multi_region: role,
            next_rotation: None,
            on_demand_rotations: 0,
            rotation_started: None,
            imported: Vec::new(),
        };
        if let Some(policy) = req.policy {
            call.check_new_policy(
                kms,
                &policy,
                &key,
                req.bypass_policy_lockout_safety_check.unwrap_or(false),
            )?;
            key.policy = policy;
        }
        // Material first, metadata second: a crash in between leaves an orphaned object that
        // startup reconciliation destroys, never a key without material. RSA key pairs wait
        // for the Region's generation gate.
        let rsa = matches!(
            key_spec,
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096
        );
        let _place = if rsa && !external {
            Some(kms.rsa_generation(region)?)
        } else {
            None
        };
        let material = if external {
            None
        } else {
            Some(material::generate_for_usage(
                kms,
                region,
                &key.key_id,
                key_spec,
                key_usage,
                extractability,
            )?)
        };
        let label = material.as_ref().map(|m| m.token_label(&key.key_id));
        key.materials = material.into_iter().collect();
        if let Err(e) = kms.commit_new_key(vec![Write::PutKey(key.clone())], slot) {
            if let (Ok(token), Some(label)) = (kms.token(region), &label) {
                let _ = token.destroy(label);
            }
            return Err(e);
        }
        Ok(json!({ "KeyMetadata": key_metadata::of(kms, &key) }).into())
    }
}
