//! Who is calling: the request context every operation runs with, and that the audit log
//! records (CloudTrail's `userIdentity`, `sourceIPAddress`, `userAgent`, `requestID`).

use std::collections::BTreeMap;

use super::region::Region;

/// The service principal of CloudFormation, as CloudTrail names it in `invokedBy` (and in
/// `eventSource` for CloudFormation's own API calls).
pub const CLOUDFORMATION: &str = "cloudformation.amazonaws.com";

/// Who is calling, in which Region, and through what.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The Region the request is for (HTTP: the SigV4 credential scope).
    pub region: Region,
    /// The caller's access key id: who the caller is. In open mode every caller is the
    /// account's root user; in strict mode the verified principal (an IAM user, a role
    /// session, an account root) is found by it (`kms::access`), so every path into the
    /// service — the HTTP API, the web console, CloudFormation — names its caller alike.
    pub access_key: String,
    pub request_id: String,
    pub source_ip: String,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    pub user_agent: String,
    /// The AWS service that made the call on the caller's behalf (CloudTrail's
    /// `userIdentity.invokedBy`, e.g. `cloudformation.amazonaws.com`); `None` for a direct
    /// call.
    pub invoked_by: Option<&'static str>,
}

/// The values of a request that a policy's `Condition` element may test, by condition
/// key: `kms:EncryptionAlgorithm`, `kms:EncryptionContext:<context key>`,
/// `kms:SigningAlgorithm`, … A key may have several values (`kms:EncryptionContextKeys`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ConditionValues(BTreeMap<String, Vec<String>>);

impl ConditionValues {
    /// Adds `value` to the values of `key`.
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.entry(key.into()).or_default().push(value.into());
    }

    /// The values of `key` (empty when the request has none). The authorization hook
    /// reads them all through [`ConditionValues::iter`]; this is for the tests.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

impl ConditionValues {
    /// Every key with its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The request's encryption context, from its `kms:EncryptionContext:<key>` values
    /// (the operations put each pair there, keys in their own case).
    pub fn encryption_context(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("kms:EncryptionContext:")?;
                Some((key.to_string(), v.first()?.clone()))
            })
            .collect()
    }
}

/// Who made a call, as CloudTrail's `userIdentity` records it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserIdentity {
    pub kind: IdentityType,
    /// `AIDA…` (user), `AROA…:<session name>` (role session), the account id (root).
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    pub access_key_id: String,
    /// IAM users only.
    pub user_name: Option<String>,
    /// Role sessions only.
    pub session: Option<SessionIssuer>,
}

/// CloudTrail's `userIdentity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    Root,
    IamUser,
    AssumedRole,
}

impl IdentityType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityType::Root => "Root",
            IdentityType::IamUser => "IAMUser",
            IdentityType::AssumedRole => "AssumedRole",
        }
    }
}

/// The role a session was issued for, and when (`userIdentity.sessionContext`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionIssuer {
    /// The role's `AROA…` id.
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    /// The role name.
    pub user_name: String,
    pub creation_date: super::time::Timestamp,
}

impl UserIdentity {
    /// An account's root user (every caller in open mode).
    pub fn root(partition: &str, account: &str, access_key_id: &str) -> UserIdentity {
        UserIdentity {
            kind: IdentityType::Root,
            principal_id: account.to_string(),
            arn: format!("arn:{partition}:iam::{account}:root"),
            account_id: account.to_string(),
            access_key_id: access_key_id.to_string(),
            user_name: None,
            session: None,
        }
    }

    /// CloudTrail's `userIdentity.userName` of LookupEvents' `Username`: the user name,
    /// `root`, or the session name of a role session.
    pub fn lookup_name(&self) -> &str {
        match self.kind {
            IdentityType::Root => "root",
            IdentityType::IamUser => self.user_name.as_deref().unwrap_or_default(),
            IdentityType::AssumedRole => self.arn.rsplit('/').next().unwrap_or_default(),
        }
    }
}
