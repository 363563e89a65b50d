//! The request context a policy's conditions are evaluated against: condition keys and
//! their values.
//!
//! Condition key names are case-insensitive in IAM, including the part after the prefix
//! (`kms:EncryptionContext:AppName` is the same key as `kms:encryptioncontext:appname`,
//! as conditions-kms.md says; tag keys in `aws:PrincipalTag/…`, `aws:ResourceTag/…` and
//! `aws:RequestTag/…` likewise). Keys are therefore stored lowercased; values keep their
//! case, and the operator decides how they compare.
//!
//! A key may carry several values (`aws:TagKeys`, `kms:EncryptionContextKeys`,
//! `kms:ResourceAliases`, `kms:GrantOperations`): those are the multi-valued keys that
//! `ForAnyValue:` / `ForAllValues:` are made for.

use std::collections::HashMap;

/// Condition keys and their values for one request.
#[derive(Debug, Clone, Default)]
pub struct ConditionValues {
    values: HashMap<String, Vec<String>>,
}

impl ConditionValues {
    pub fn new() -> ConditionValues {
        ConditionValues::default()
    }

    /// Sets a single-valued key (replacing any earlier value).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
        self
    }

    /// Sets a multi-valued key (replacing any earlier values). An empty list is kept: the
    /// key is present with no values (`ForAllValues` is then true, `ForAnyValue` false).
    pub fn set_all<I, S>(&mut self, key: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.values.insert(
            key.to_ascii_lowercase(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Adds a value to a key, keeping those it has.
    pub fn add(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.into());
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.values.remove(&key.to_ascii_lowercase());
        self
    }

    /// The values of a key, looked up by its lowercased name.
    pub fn get_lower(&self, key_lower: &str) -> Option<&[String]> {
        self.values.get(key_lower).map(Vec::as_slice)
    }

    /// The values of a key, any case.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.get_lower(&key.to_ascii_lowercase())
    }

    /// Sets `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys` to
    /// the set of keys, as the cryptographic operations supply them.
    pub fn set_encryption_context<'a, I>(&mut self, pairs: I) -> &mut Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut keys = Vec::new();
        for (k, v) in pairs {
            self.add(&format!("kms:EncryptionContext:{k}"), v);
            keys.push(k.to_string());
        }
        self.set_all("kms:EncryptionContextKeys", keys)
    }

    /// Sets `aws:ResourceTag/<key>` for each tag on the resource.
    pub fn set_resource_tags<'a, I>(&mut self, tags: I) -> &mut Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        for (k, v) in tags {
            self.set(&format!("aws:ResourceTag/{k}"), v);
        }
        self
    }

    /// Sets `aws:RequestTag/<key>` for each tag in the request, and `aws:TagKeys` to the
    /// keys (TagResource, CreateKey and ReplicateKey with Tags; UntagResource sets only
    /// `aws:TagKeys`, through [`ConditionValues::set_all`]).
    pub fn set_request_tags<'a, I>(&mut self, tags: I) -> &mut Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut keys = Vec::new();
        for (k, v) in tags {
            self.set(&format!("aws:RequestTag/{k}"), v);
            keys.push(k.to_string());
        }
        self.set_all("aws:TagKeys", keys)
    }

    /// A copy without the keys a key policy never sees: `aws:ResourceTag/*` and
    /// `kms:ResourceAliases` are supported in IAM policies only (tag-authorization.md,
    /// alias-authorization.md), so in a key policy a condition on them finds no value.
    pub fn for_key_policy(&self) -> ConditionValues {
        ConditionValues {
            values: self
                .values
                .iter()
                .filter(|(k, _)| !is_iam_only_key(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Whether any key here is one a key policy never sees.
    pub fn has_iam_only_keys(&self) -> bool {
        self.values.keys().any(|k| is_iam_only_key(k))
    }
}

/// Condition keys that only IAM policies may use (lowercased).
pub const IAM_ONLY_KEY_PREFIXES: &[&str] = &["aws:resourcetag/", "kms:resourcealiases"];

fn is_iam_only_key(key_lower: &str) -> bool {
    IAM_ONLY_KEY_PREFIXES
        .iter()
        .any(|p| key_lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_case_insensitive_values_are_not() {
        let mut c = ConditionValues::new();
        c.set("kms:EncryptionContext:AppName", "ExampleApp");
        assert_eq!(
            c.get("KMS:encryptioncontext:appname"),
            Some(&["ExampleApp".to_string()][..])
        );
    }

    #[test]
    fn encryption_context_fills_both_keys() {
        let mut c = ConditionValues::new();
        c.set_encryption_context([("purpose", "payments"), ("Dept", "IT")]);
        assert_eq!(
            c.get("kms:EncryptionContext:purpose").map(|v| v.len()),
            Some(1)
        );
        let keys = c.get("kms:EncryptionContextKeys").expect("keys");
        assert_eq!(keys, &["purpose".to_string(), "Dept".to_string()][..]);
    }

    #[test]
    fn request_tags_fill_tag_keys() {
        let mut c = ConditionValues::new();
        c.set_request_tags([("Project", "Alpha")]);
        assert_eq!(
            c.get("aws:RequestTag/project"),
            Some(&["Alpha".to_string()][..])
        );
        assert_eq!(c.get("aws:TagKeys"), Some(&["Project".to_string()][..]));
    }

    #[test]
    fn a_key_policy_does_not_see_resource_tags_or_resource_aliases() {
        let mut c = ConditionValues::new();
        c.set_resource_tags([("Project", "Alpha")]);
        c.set_all("kms:ResourceAliases", ["alias/a"]);
        c.set("kms:CallerAccount", "111122223333");
        let k = c.for_key_policy();
        assert!(k.get("aws:ResourceTag/Project").is_none());
        assert!(k.get("kms:ResourceAliases").is_none());
        assert!(k.get("kms:CallerAccount").is_some());
    }
}
