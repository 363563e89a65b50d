//! `AWS::KMS::Key`: CreateKey (then EnableKeyRotation, DisableKey as the properties ask),
//! in-place updates of description, policy, enabled state, rotation and tags, and
//! deletion by ScheduleKeyDeletion with the resource's PendingWindowInDays.
//!
//! KeySpec, KeyUsage, MultiRegion and Origin cannot change on a key: as the KMS guide
//! warns, changing one schedules the old key for deletion and creates a new one.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::provider::{
    apply_disabled, create_tags, fail, key_attributes, policy_text, schedule_key_deletion,
    tagged_for, update_common, Created, Provider, ProviderCx,
};
use super::schema::Schema;
use crate::kms::error::ErrorKind;

const SCHEMA: &str =
    include_str!("../../../model/cloudformation-resource-schemas/aws-kms-key.json");

/// Properties that force a new key ("If you change the value of the KeyUsage, KeySpec, or
/// MultiRegion property of an existing KMS key, the existing KMS key is scheduled for
/// deletion and a new KMS key is created"; Origin likewise cannot change).
const REPLACED_ON: &[&str] = &["KeySpec", "KeyUsage", "MultiRegion", "Origin"];

pub struct KeyProvider {
    schema: Schema,
}

impl Default for KeyProvider {
    fn default() -> Self {
        KeyProvider {
            schema: Schema::load(SCHEMA).expect("the AWS::KMS::Key schema ships with hsm-kms"),
        }
    }
}

impl KeyProvider {
    /// The default key policy of the schema, for this account and partition.
    fn default_policy(&self, cx: &ProviderCx) -> Option<String> {
        self.schema
            .default_of("KeyPolicy")
            .and_then(Value::as_str)
            .map(|p| {
                p.replace("<partition>", cx.region.partition().as_str())
                    .replace("<account-id>", cx.kms.kms().account())
            })
    }

    fn rotation(
        cx: &ProviderCx,
        key_id: &str,
        old: Option<&Value>,
        new: &Value,
    ) -> Result<(), String> {
        let on = |p: &Value| {
            p.get("EnableKeyRotation")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let period = |p: &Value| p.get("RotationPeriodInDays").cloned();
        let was_on = old.is_some_and(on);
        if on(new) && (!was_on || old.map(period) != Some(period(new))) {
            let mut input = json!({"KeyId": key_id});
            if let Some(days) = period(new) {
                input["RotationPeriodInDays"] = days;
            }
            cx.kms
                .call(cx.region, "EnableKeyRotation", input)
                .map_err(fail)?;
        } else if !on(new) && was_on {
            cx.kms
                .call(cx.region, "DisableKeyRotation", json!({"KeyId": key_id}))
                .map_err(fail)?;
        }
        Ok(())
    }
}

impl Provider for KeyProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "KeyId"]
    }

    fn replacement_properties(&self) -> Vec<String> {
        REPLACED_ON.iter().map(|s| s.to_string()).collect()
    }

    fn taggable(&self) -> bool {
        true
    }

    fn create(
        &self,
        cx: &ProviderCx,
        props: &Value,
        created: &mut dyn FnMut(&str) -> Result<(), String>,
    ) -> Result<Created, String> {
        let mut input = json!({
            "KeyUsage": props.get("KeyUsage").and_then(Value::as_str).unwrap_or("ENCRYPT_DECRYPT"),
            "KeySpec": props.get("KeySpec").and_then(Value::as_str).unwrap_or("SYMMETRIC_DEFAULT"),
            "Tags": create_tags(cx, props),
        });
        for member in [
            "Description",
            "Origin",
            "MultiRegion",
            "BypassPolicyLockoutSafetyCheck",
        ] {
            if let Some(v) = props.get(member) {
                input[member] = v.clone();
            }
        }
        let policy = props
            .get("KeyPolicy")
            .and_then(policy_text)
            .or_else(|| self.default_policy(cx));
        if let Some(p) = policy {
            input["Policy"] = Value::String(p);
        }
        let out = cx.kms.call(cx.region, "CreateKey", input).map_err(fail)?;
        let key_id = out
            .pointer("/KeyMetadata/KeyId")
            .and_then(Value::as_str)
            .ok_or("CreateKey returned no KeyId")?
            .to_string();
        let arn = out
            .pointer("/KeyMetadata/Arn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        created(&key_id)?;
        Self::rotation(cx, &key_id, None, props)?;
        apply_disabled(cx, &key_id, None, props)?;
        Ok(Created {
            attributes: key_attributes(&arn, &key_id),
            physical_id: key_id,
        })
    }

    fn update(
        &self,
        cx: &ProviderCx,
        physical_id: &str,
        old: &Value,
        new: &Value,
    ) -> Result<BTreeMap<String, String>, String> {
        update_common(cx, physical_id, old, new)?;
        Self::rotation(cx, physical_id, Some(old), new)?;
        apply_disabled(cx, physical_id, Some(old), new)?;
        let out = cx
            .kms
            .call(cx.region, "DescribeKey", json!({"KeyId": physical_id}))
            .map_err(fail)?;
        let arn = out
            .pointer("/KeyMetadata/Arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(key_attributes(arn, physical_id))
    }

    fn delete(&self, cx: &ProviderCx, physical_id: &str, props: &Value) -> Result<(), String> {
        schedule_key_deletion(cx, physical_id, props)
    }

    fn find_created(
        &self,
        cx: &ProviderCx,
        _props: &Value,
        known: &[String],
    ) -> Result<Vec<String>, String> {
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut input = json!({"Limit": 1000});
            if let Some(m) = &marker {
                input["Marker"] = json!(m);
            }
            let out = cx.kms.call(cx.region, "ListKeys", input).map_err(fail)?;
            for k in out
                .get("Keys")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(id) = k.get("KeyId").and_then(Value::as_str) else {
                    continue;
                };
                if known.iter().any(|x| x == id) || !tagged_for(cx, cx.region, id)? {
                    continue;
                }
                match cx.kms.call(cx.region, "DescribeKey", json!({"KeyId": id})) {
                    Ok(d) => {
                        let state = d.pointer("/KeyMetadata/KeyState").and_then(Value::as_str);
                        if !matches!(
                            state,
                            Some("PendingDeletion") | Some("PendingReplicaDeletion")
                        ) {
                            found.push(id.to_string());
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(fail(e)),
                }
            }
            match out.get("NextMarker").and_then(Value::as_str) {
                Some(m) if out.get("Truncated") == Some(&Value::Bool(true)) => {
                    marker = Some(m.to_string())
                }
                _ => break,
            }
        }
        Ok(found)
    }
}
