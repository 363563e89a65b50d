//! Tags on keys: the request shape, the checks AWS makes (reserved `aws:` prefix,
//! duplicates, at most 50 per key), and the response shape. CreateKey, ReplicateKey,
//! TagResource and ListResourceTags share them.

use serde::Deserialize;

use super::error::{ErrorKind, KmsError, KmsResult};
use crate::domain::key::Tag;
use crate::domain::request::{ConditionValues, CLOUDFORMATION};

/// A tag as it appears in requests.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireTag {
    pub tag_key: String,
    pub tag_value: String,
}

/// AWS's limit on tags per key.
pub const MAX_TAGS: usize = 50;

fn tag_error(message: &str) -> KmsError {
    KmsError::new(ErrorKind::Tag, message)
}

/// The `aws:` tags an AWS service sets on the resources it creates for a caller, by the
/// service (CloudTrail's `invokedBy`): CloudFormation tags every key of a stack with the
/// stack name, the stack id and the resource's logical id.
const SERVICE_TAG_PREFIXES: &[(&str, &str)] = &[(CLOUDFORMATION, "aws:cloudformation:")];

/// Checks a request's tags (reserved prefix, duplicates) and converts them. `invoked_by`
/// is the AWS service making the call for the caller, if any: it may set its own `aws:`
/// tags ([`SERVICE_TAG_PREFIXES`]); nobody else may set any.
pub fn check_tags(invoked_by: Option<&str>, tags: &[WireTag]) -> KmsResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        let key = t.tag_key.to_ascii_lowercase();
        let service_tag = SERVICE_TAG_PREFIXES
            .iter()
            .any(|(service, prefix)| invoked_by == Some(*service) && key.starts_with(prefix));
        if key.starts_with("aws:") && !service_tag {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        if out.iter().any(|o| o.key == t.tag_key) {
            return Err(tag_error("Duplicate tag keys"));
        }
        out.push(Tag {
            key: t.tag_key.clone(),
            value: t.tag_value.clone(),
        });
    }
    Ok(out)
}

/// The condition values of a request with tags: `aws:RequestTag/<key>` per tag and
/// `aws:TagKeys`.
pub fn tag_conditions(tags: &[WireTag]) -> ConditionValues {
    let mut values = ConditionValues::default();
    for t in tags {
        values.add(
            format!("aws:RequestTag/{}", t.tag_key),
            t.tag_value.as_str(),
        );
        values.add("aws:TagKeys", t.tag_key.as_str());
    }
    values
}

/// Adds or updates tags in place (an updated tag keeps its position), enforcing the limit.
pub fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> KmsResult<()> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(t),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(tag_error("Too many tags"));
    }
    Ok(())
}

/// The response shape of a tag.
pub fn tag_json(t: &Tag) -> serde_json::Value {
    serde_json::json!({"TagKey": t.key, "TagValue": t.value})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(keys: &[&str]) -> Vec<WireTag> {
        keys.iter()
            .map(|k| WireTag {
                tag_key: k.to_string(),
                tag_value: "v".to_string(),
            })
            .collect()
    }

    #[test]
    fn only_cloudformation_sets_its_own_aws_tags() {
        let stack_tag = tags(&["aws:cloudformation:stack-name"]);
        let e = check_tags(None, &stack_tag).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Tag);
        assert_eq!(e.message, "Tags beginning with aws: are reserved");
        assert_eq!(
            check_tags(Some(CLOUDFORMATION), &stack_tag).expect("allowed")[0].key,
            "aws:cloudformation:stack-name"
        );
        // Not even CloudFormation sets another service's reserved tags.
        let e = check_tags(Some(CLOUDFORMATION), &tags(&["aws:ec2:whatever"])).unwrap_err();
        assert_eq!(e.message, "Tags beginning with aws: are reserved");
        let e = check_tags(Some("ec2.amazonaws.com"), &stack_tag).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Tag);
    }
}
