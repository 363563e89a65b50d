//! One file per KMS operation. Each exposes `handle(kms, ctx, input) -> KmsResult<Value>`;
//! [`super::dispatch`] routes `X-Amz-Target` names to them.

pub mod cancel_key_deletion;
pub mod create_alias;
pub mod create_key;
pub mod decrypt;
pub mod delete_alias;
pub mod delete_imported_key_material;
pub mod derive_shared_secret;
pub mod describe_key;
pub mod disable_key;
pub mod disable_key_rotation;
pub mod enable_key;
pub mod enable_key_rotation;
pub mod encrypt;
pub mod generate_data_key;
pub mod generate_data_key_pair;
pub mod generate_data_key_pair_without_plaintext;
pub mod generate_data_key_without_plaintext;
pub mod generate_mac;
pub mod generate_random;
pub mod get_key_policy;
pub mod get_key_rotation_status;
pub mod get_parameters_for_import;
pub mod get_public_key;
pub mod import_key_material;
pub mod list_aliases;
pub mod list_key_policies;
pub mod list_key_rotations;
pub mod list_keys;
pub mod list_resource_tags;
pub mod put_key_policy;
pub mod re_encrypt;
pub mod replicate_key;
pub mod rotate_key_on_demand;
pub mod schedule_key_deletion;
pub mod sign;
pub mod tag_resource;
pub mod untag_resource;
pub mod update_alias;
pub mod update_key_description;
pub mod update_primary_region;
pub mod verify;
pub mod verify_mac;

use serde::Deserialize;

use super::error::{ErrorKind, KmsError, KmsResult};
use super::model::Tag;

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
pub fn check_tags(tags: Vec<WireTag>) -> KmsResult<Vec<Tag>> {
    check_tags_for(None, tags)
}

/// [`check_tags`] for a call some AWS service makes: CloudFormation may set its own
/// `aws:cloudformation:*` tags (stack name, stack id, logical id) on keys it creates.
pub fn check_tags_for(invoked_by: Option<&str>, tags: Vec<WireTag>) -> KmsResult<Vec<Tag>> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        let lower = t.tag_key.to_ascii_lowercase();
        let system =
            invoked_by == Some(super::CLOUDFORMATION) && lower.starts_with("aws:cloudformation:");
        if lower.starts_with("aws:") && !system {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        if out.iter().any(|o| o.key == t.tag_key) {
            return Err(tag_error("Duplicate tag keys"));
        }
        out.push(Tag {
            key: t.tag_key,
            value: t.tag_value,
        });
    }
    Ok(out)
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
