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
use std::sync::Arc;

/// Condition keys and their values for one request.
///
/// What is the same for every request of a caller (principal ARN, account, tags, …) can
/// sit in a shared `base`, computed once per caller; a request adds its own keys on top.
/// A key set here hides the base's value of the same key.
#[derive(Debug, Clone, Default)]
pub struct ConditionValues {
    base: Option<Arc<ConditionValues>>,
    values: HashMap<String, Vec<String>>,
    /// `aws:CurrentTime` / `aws:EpochTime`, formatted only if a policy asks.
    time: Option<RequestTime>,
}

/// The request time, and its two condition-key forms made on first use.
#[derive(Debug, Clone)]
struct RequestTime {
    epoch: f64,
    iso: std::sync::OnceLock<Vec<String>>,
    seconds: std::sync::OnceLock<Vec<String>>,
}

impl ConditionValues {
    pub fn new() -> ConditionValues {
        ConditionValues::default()
    }

    /// An empty set of values on top of shared ones.
    pub fn on(base: Arc<ConditionValues>) -> ConditionValues {
        ConditionValues {
            base: Some(base),
            // A request adds about a dozen keys: room for them without regrowing.
            values: HashMap::with_capacity(16),
            time: None,
        }
    }

    /// Sets `aws:CurrentTime` (ISO 8601) and `aws:EpochTime` from epoch seconds; the
    /// strings are made only when a condition reads them.
    pub fn set_time(&mut self, epoch_seconds: f64) -> &mut Self {
        self.time = Some(RequestTime {
            epoch: epoch_seconds,
            iso: Default::default(),
            seconds: Default::default(),
        });
        self
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

    /// The values of a key, looked up by its lowercased name.
    pub fn get_lower(&self, key_lower: &str) -> Option<&[String]> {
        if let Some(v) = self.values.get(key_lower) {
            return Some(v.as_slice());
        }
        if let Some(t) = &self.time {
            match key_lower {
                "aws:currenttime" => {
                    return Some(t.iso.get_or_init(|| vec![iso8601(t.epoch)]).as_slice())
                }
                "aws:epochtime" => {
                    return Some(
                        t.seconds
                            .get_or_init(|| vec![format!("{}", t.epoch.floor() as i64)])
                            .as_slice(),
                    )
                }
                _ => {}
            }
        }
        self.base.as_ref().and_then(|b| b.get_lower(key_lower))
    }

    /// The values of a key, any case.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.get_lower(&key.to_ascii_lowercase())
    }

    /// Removes every key starting with `prefix` (any case).
    fn remove_prefix(&mut self, prefix: &str) {
        let prefix = prefix.to_ascii_lowercase();
        self.values.retain(|k, _| !k.starts_with(&prefix));
    }

    /// Sets `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys` to
    /// the set of keys, as the cryptographic operations supply them (replacing any
    /// context set before). Two context keys differing only in case share one condition
    /// key, which then has both values.
    pub fn set_encryption_context<'a, I>(&mut self, pairs: I) -> &mut Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.remove_prefix("kms:EncryptionContext:");
        let mut keys = Vec::new();
        for (k, v) in pairs {
            self.add(&format!("kms:EncryptionContext:{k}"), v);
            keys.push(k.to_string());
        }
        self.set_all("kms:EncryptionContextKeys", keys)
    }

    /// Sets `aws:ResourceTag/<key>` for each tag on the resource (replacing earlier ones).
    pub fn set_resource_tags<'a, I>(&mut self, tags: I) -> &mut Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.remove_prefix("aws:ResourceTag/");
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
        self.remove_prefix("aws:RequestTag/");
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
            // The caller's shared values (principal, account, tags) hold no such key:
            // shared again rather than copied on every request.
            base: self.base.as_ref().map(|b| {
                if b.has_iam_only_keys() {
                    Arc::new(b.for_key_policy())
                } else {
                    Arc::clone(b)
                }
            }),
            time: self.time.clone(),
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
            || self.base.as_ref().is_some_and(|b| b.has_iam_only_keys())
    }
}

fn iso8601(ts: f64) -> String {
    chrono::DateTime::from_timestamp(ts.floor() as i64, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
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
    fn request_values_sit_on_top_of_shared_ones() {
        let mut base = ConditionValues::new();
        base.set("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice");
        base.set("aws:RequestedRegion", "us-east-1");
        let mut c = ConditionValues::on(Arc::new(base));
        c.set("aws:RequestedRegion", "eu-west-1");
        assert_eq!(c.get("aws:principalarn").map(|v| v.len()), Some(1));
        assert_eq!(
            c.get("aws:RequestedRegion"),
            Some(&["eu-west-1".to_string()][..])
        );
    }

    #[test]
    fn the_request_time_reads_as_iso_8601_and_epoch_seconds() {
        let mut c = ConditionValues::new();
        c.set_time(1_790_000_000.5);
        assert_eq!(
            c.get("aws:CurrentTime"),
            Some(&["2026-09-21T14:13:20Z".to_string()][..])
        );
        assert_eq!(
            c.get("aws:EpochTime"),
            Some(&["1790000000".to_string()][..])
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
    fn setting_a_new_encryption_context_replaces_the_old_one() {
        let mut c = ConditionValues::new();
        c.set_encryption_context([("purpose", "reports"), ("dept", "IT")]);
        c.set_encryption_context([("PURPOSE", "payments")]);
        assert_eq!(
            c.get("kms:EncryptionContext:purpose"),
            Some(&["payments".to_string()][..])
        );
        assert!(c.get("kms:EncryptionContext:dept").is_none());
        assert_eq!(
            c.get("kms:EncryptionContextKeys"),
            Some(&["PURPOSE".to_string()][..])
        );
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
