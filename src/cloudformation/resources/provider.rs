//! What every resource provider is and shares: the [`Provider`] trait (schema, `Fn::GetAtt`
//! attributes, replacement properties, create / update / delete, finding a resource
//! created just before a crash), what a provider call knows of its stack
//! ([`ProviderCx`]), CloudFormation's own tags, and the KMS steps Key and ReplicaKey share
//! (tags, policy, enabling, scheduled deletion, waiting out `Creating`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::kms_client::{KmsClient, KmsFailure};
use super::schema::Schema;
use crate::cloudformation::model::Tag;
use crate::domain::region::Region;
use crate::kms::error::ErrorKind;

/// The tags CloudFormation puts on the keys it creates.
pub const TAG_STACK_NAME: &str = "aws:cloudformation:stack-name";
pub const TAG_STACK_ID: &str = "aws:cloudformation:stack-id";
pub const TAG_LOGICAL_ID: &str = "aws:cloudformation:logical-id";

/// How long a handler waits for a key to leave `Creating`.
const CREATING_WAIT: Duration = Duration::from_secs(900);

/// What a provider call knows about the stack it works for.
pub struct ProviderCx<'a> {
    pub kms: KmsClient<'a>,
    pub region: Region,
    pub stack_id: &'a str,
    pub stack_name: &'a str,
    pub logical_id: &'a str,
}

/// A physical resource a create made.
#[derive(Debug, Clone)]
pub struct Created {
    pub physical_id: String,
    pub attributes: BTreeMap<String, String>,
}

/// A resource type.
pub trait Provider: Send + Sync {
    fn schema(&self) -> &Schema;
    /// `Fn::GetAtt` attributes.
    fn attributes(&self) -> &'static [&'static str];
    /// Properties whose change needs a new physical resource.
    fn replacement_properties(&self) -> Vec<String> {
        self.schema().create_only.clone()
    }
    /// Whether stack tags propagate to the resource's `Tags`.
    fn taggable(&self) -> bool;
    /// Creates the physical resource; `created` is called with its physical id as soon as
    /// it exists (before any further call), so the engine records it durably.
    fn create(
        &self,
        cx: &ProviderCx,
        props: &Value,
        created: &mut dyn FnMut(&str) -> Result<(), String>,
    ) -> Result<Created, String>;
    /// Changes the physical resource in place from `old` to `new` properties.
    fn update(
        &self,
        cx: &ProviderCx,
        physical_id: &str,
        old: &Value,
        new: &Value,
    ) -> Result<BTreeMap<String, String>, String>;
    /// Deletes the physical resource (already gone counts as deleted).
    fn delete(&self, cx: &ProviderCx, physical_id: &str, props: &Value) -> Result<(), String>;
    /// Checks made before the engine records its intent to create (default: none).
    fn precheck(&self, _cx: &ProviderCx, _props: &Value) -> Result<(), String> {
        Ok(())
    }
    /// Physical resources this stack's resource created that the stack has not recorded
    /// (a crash between the create call and its record), other than `known`.
    fn find_created(
        &self,
        cx: &ProviderCx,
        props: &Value,
        known: &[String],
    ) -> Result<Vec<String>, String>;
}

/// Merges stack tags into a resource's `Tags` (the resource's own value wins).
pub fn with_stack_tags(props: &mut Value, stack_tags: &[Tag]) {
    if stack_tags.is_empty() {
        return;
    }
    let own: Vec<Value> = props
        .get("Tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut merged: Vec<Value> = stack_tags
        .iter()
        .filter(|t| {
            !own.iter()
                .any(|o| o.get("Key").and_then(Value::as_str) == Some(&t.key))
        })
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    merged.extend(own);
    if let Some(obj) = props.as_object_mut() {
        obj.insert("Tags".into(), Value::Array(merged));
    }
}

/// A resource's `Tags` as `{Key: Value}` pairs.
pub fn tag_pairs(props: &Value) -> BTreeMap<String, String> {
    props
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    Some((
                        t.get("Key")?.as_str()?.to_string(),
                        t.get("Value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `Tags` of a CreateKey/ReplicateKey: the resource's plus CloudFormation's own.
pub fn create_tags(cx: &ProviderCx, props: &Value) -> Value {
    let mut tags: Vec<Value> = tag_pairs(props)
        .into_iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    tags.push(json!({"TagKey": TAG_STACK_NAME, "TagValue": cx.stack_name}));
    tags.push(json!({"TagKey": TAG_STACK_ID, "TagValue": cx.stack_id}));
    tags.push(json!({"TagKey": TAG_LOGICAL_ID, "TagValue": cx.logical_id}));
    Value::Array(tags)
}

/// A key policy property as KMS takes it: a string, or a JSON object serialised.
pub fn policy_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => serde_json::to_string_pretty(other).ok(),
    }
}

pub fn fail(e: KmsFailure) -> String {
    e.reason()
}

/// `KeyState` of a key, `None` if it does not exist.
pub fn key_state(cx: &ProviderCx, region: Region, key_id: &str) -> Result<Option<String>, String> {
    match cx.kms.call(region, "DescribeKey", json!({"KeyId": key_id})) {
        Ok(out) => Ok(out
            .pointer("/KeyMetadata/KeyState")
            .and_then(Value::as_str)
            .map(str::to_string)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(e)),
    }
}

/// Waits while a key is `Creating` (a new replica); returns its state then.
pub fn wait_while_creating(
    cx: &ProviderCx,
    region: Region,
    key_id: &str,
) -> Result<Option<String>, String> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        let state = key_state(cx, region, key_id)?;
        if state.as_deref() != Some("Creating") {
            return Ok(state);
        }
        if start.elapsed() > CREATING_WAIT {
            return Err(format!(
                "Key {key_id} in {region} stayed in the Creating state for more than {} seconds",
                CREATING_WAIT.as_secs()
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// Deletes a key as CloudFormation does: schedules its deletion after the resource's
/// PendingWindowInDays (30 by default). A key already gone or pending deletion is done.
pub fn schedule_key_deletion(cx: &ProviderCx, key_id: &str, props: &Value) -> Result<(), String> {
    match wait_while_creating(cx, cx.region, key_id)?.as_deref() {
        None | Some("PendingDeletion") | Some("PendingReplicaDeletion") => return Ok(()),
        _ => {}
    }
    let mut input = json!({"KeyId": key_id});
    if let Some(days) = props.get("PendingWindowInDays") {
        input["PendingWindowInDays"] = days.clone();
    }
    match cx.kms.call(cx.region, "ScheduleKeyDeletion", input) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(e)),
    }
}

/// Applies the in-place changes Key and ReplicaKey share: Description, KeyPolicy,
/// Enabled, Tags (enabling first and disabling last, as the key states require).
pub fn update_common(
    cx: &ProviderCx,
    key_id: &str,
    old: &Value,
    new: &Value,
) -> Result<(), String> {
    let region = cx.region;
    let enabled = |p: &Value| p.get("Enabled").and_then(Value::as_bool).unwrap_or(true);
    if enabled(new) && !enabled(old) {
        cx.kms
            .call(region, "EnableKey", json!({"KeyId": key_id}))
            .map_err(fail)?;
    }
    if old.get("Description") != new.get("Description") {
        let d = new.get("Description").and_then(Value::as_str).unwrap_or("");
        cx.kms
            .call(
                region,
                "UpdateKeyDescription",
                json!({"KeyId": key_id, "Description": d}),
            )
            .map_err(fail)?;
    }
    if old.get("KeyPolicy") != new.get("KeyPolicy") {
        if let Some(policy) = new.get("KeyPolicy").and_then(policy_text) {
            let mut input = json!({"KeyId": key_id, "PolicyName": "default", "Policy": policy});
            if let Some(b) = new.get("BypassPolicyLockoutSafetyCheck") {
                input["BypassPolicyLockoutSafetyCheck"] = b.clone();
            }
            cx.kms.call(region, "PutKeyPolicy", input).map_err(fail)?;
        }
    }
    let (old_tags, new_tags) = (tag_pairs(old), tag_pairs(new));
    let removed: Vec<&String> = old_tags
        .keys()
        .filter(|k| !new_tags.contains_key(*k))
        .collect();
    if !removed.is_empty() {
        cx.kms
            .call(
                region,
                "UntagResource",
                json!({"KeyId": key_id, "TagKeys": removed}),
            )
            .map_err(fail)?;
    }
    let changed: Vec<Value> = new_tags
        .iter()
        .filter(|(k, v)| old_tags.get(*k) != Some(*v))
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    if !changed.is_empty() {
        cx.kms
            .call(
                region,
                "TagResource",
                json!({"KeyId": key_id, "Tags": changed}),
            )
            .map_err(fail)?;
    }
    Ok(())
}

/// Disables a key when `Enabled` is false (after everything else was applied).
pub fn apply_disabled(
    cx: &ProviderCx,
    key_id: &str,
    old: Option<&Value>,
    new: &Value,
) -> Result<(), String> {
    let enabled = |p: &Value| p.get("Enabled").and_then(Value::as_bool).unwrap_or(true);
    if !enabled(new) && old.is_none_or(enabled) {
        cx.kms
            .call(cx.region, "DisableKey", json!({"KeyId": key_id}))
            .map_err(fail)?;
    }
    Ok(())
}

/// True when the key carries this stack resource's CloudFormation tags.
pub fn tagged_for(cx: &ProviderCx, region: Region, key_id: &str) -> Result<bool, String> {
    let out = match cx.kms.call(
        region,
        "ListResourceTags",
        json!({"KeyId": key_id, "Limit": 50}),
    ) {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(fail(e)),
    };
    let tags: BTreeMap<String, String> = out
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    Some((
                        t.get("TagKey")?.as_str()?.to_string(),
                        t.get("TagValue")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(
        tags.get(TAG_STACK_ID).map(String::as_str) == Some(cx.stack_id)
            && tags.get(TAG_LOGICAL_ID).map(String::as_str) == Some(cx.logical_id),
    )
}

/// Key id and ARN attributes.
pub fn key_attributes(arn: &str, key_id: &str) -> BTreeMap<String, String> {
    [
        ("Arn".to_string(), arn.to_string()),
        ("KeyId".to_string(), key_id.to_string()),
    ]
    .into()
}
