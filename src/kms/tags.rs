//! Tags on keys: the request shape, the checks AWS makes (reserved `aws:` prefix,
//! duplicates, at most 50 per key), and the response shape. CreateKey, ReplicateKey,
//! TagResource and ListResourceTags share them.

use serde::Deserialize;

use super::error::{ErrorKind, KmsError, KmsResult};
use crate::domain::key::Tag;
use crate::domain::request::ConditionValues;

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

/// Checks a request's tags (reserved prefix, duplicates) and converts them.
pub fn check_tags(tags: &[WireTag]) -> KmsResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        if t.tag_key.to_ascii_lowercase().starts_with("aws:") {
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
