//! Who is calling: the request context every operation runs with, and that the audit log
//! records (CloudTrail's `userIdentity`, `sourceIPAddress`, `userAgent`, `requestID`).

use std::collections::BTreeMap;

use super::region::Region;

/// The service principal of CloudFormation, as CloudTrail names it in `invokedBy` (and in
/// `eventSource` for CloudFormation's own API calls).
pub const CLOUDFORMATION: &str = "cloudformation.amazonaws.com";

/// Who made a call, as the audit log's `userIdentity` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The account's root user: CloudTrail's `type: Root`, ARN
    /// `arn:<partition>:iam::<account>:root`, principal id the account id. In open mode
    /// every caller is the root user (any credentials are accepted, and nothing names anyone
    /// else); access control's verified callers (IAM users, role sessions) come with strict
    /// mode.
    AccountRoot,
}

/// Who is calling, in which Region, and through what.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The Region the request is for (HTTP: the SigV4 credential scope).
    pub region: Region,
    /// Who the caller is.
    pub identity: Identity,
    /// The caller's access key id.
    pub access_key: String,
    pub request_id: String,
    pub source_ip: String,
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

    /// The values of `key` (empty when the request has none).
    #[allow(dead_code)] // Read by the policy evaluator of access control (issue 11).
    pub fn get(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}
