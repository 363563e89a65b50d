//! `AWS::KMS::ReplicaKey`: a replica of a multi-Region primary key in the stack's Region.
//! ReplicateKey is called in the primary's Region (named by `PrimaryKeyArn`); the
//! resource is complete only once the new replica has left the `Creating` state, as the
//! KMS guide tells programs to wait. Description, policy, enabled state and tags update
//! in place; a different PrimaryKeyArn needs a new replica.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::provider::{
    apply_disabled, create_tags, fail, key_attributes, policy_text, schedule_key_deletion,
    tagged_for, update_common, wait_while_creating, Created, Provider, ProviderCx,
};
use super::schema::Schema;
use crate::domain::region::Region;

const SCHEMA: &str =
    include_str!("../../../model/cloudformation-resource-schemas/aws-kms-replicakey.json");

pub struct ReplicaKeyProvider {
    schema: Schema,
}

/// The Region and key id of a key ARN.
fn parse_key_arn(arn: &str) -> Result<(Region, String), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let bad = || {
        format!(
            "PrimaryKeyArn {arn} is not a key ARN: use arn:<partition>:kms:<region>:<account>:key/<mrk-key-id> (an alias or key id is not accepted)"
        )
    };
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" {
        return Err(bad());
    }
    let region = Region::parse(parts[3]).ok_or_else(bad)?;
    let key_id = parts[5].strip_prefix("key/").ok_or_else(bad)?;
    Ok((region, key_id.to_string()))
}

impl Default for ReplicaKeyProvider {
    fn default() -> Self {
        ReplicaKeyProvider {
            schema: Schema::load(SCHEMA)
                .expect("the AWS::KMS::ReplicaKey schema ships with hsm-kms"),
        }
    }
}

impl Provider for ReplicaKeyProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn attributes(&self) -> &'static [&'static str] {
        &["Arn", "KeyId"]
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
        let arn = props
            .get("PrimaryKeyArn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (primary_region, _) = parse_key_arn(arn)?;
        let mut input = json!({
            "KeyId": arn,
            "ReplicaRegion": cx.region.as_str(),
            "Tags": create_tags(cx, props),
        });
        if let Some(d) = props.get("Description") {
            input["Description"] = d.clone();
        }
        if let Some(p) = props.get("KeyPolicy").and_then(policy_text) {
            input["Policy"] = Value::String(p);
        }
        let out = cx
            .kms
            .call(primary_region, "ReplicateKey", input)
            .map_err(fail)?;
        let key_id = out
            .pointer("/ReplicaKeyMetadata/KeyId")
            .and_then(Value::as_str)
            .ok_or("ReplicateKey returned no KeyId")?
            .to_string();
        let replica_arn = out
            .pointer("/ReplicaKeyMetadata/Arn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        created(&key_id)?;
        // A new replica is `Creating` until its material is in this Region's token.
        wait_while_creating(cx, cx.region, &key_id)?;
        apply_disabled(cx, &key_id, None, props)?;
        Ok(Created {
            attributes: key_attributes(&replica_arn, &key_id),
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
        props: &Value,
        known: &[String],
    ) -> Result<Vec<String>, String> {
        let arn = props
            .get("PrimaryKeyArn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Ok((_, key_id)) = parse_key_arn(arn) else {
            return Ok(Vec::new());
        };
        if known.contains(&key_id) {
            return Ok(Vec::new());
        }
        let state = super::provider::key_state(cx, cx.region, &key_id)?;
        let live = !matches!(
            state.as_deref(),
            None | Some("PendingDeletion") | Some("PendingReplicaDeletion")
        );
        if live && tagged_for(cx, cx.region, &key_id)? {
            Ok(vec![key_id])
        } else {
            Ok(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_key_arn_names_region_and_key() {
        let (r, id) = parse_key_arn(
            "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        )
        .expect("parses");
        assert_eq!(r.as_str(), "us-east-1");
        assert_eq!(id, "mrk-1234abcd12ab34cd56ef1234567890ab");
        assert!(parse_key_arn("alias/x")
            .expect_err("alias")
            .contains("is not a key ARN"));
    }
}
