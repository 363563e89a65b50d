//! Who is calling: the request context every operation runs with, and that the audit log
//! records (CloudTrail's `userIdentity`, `sourceIPAddress`, `userAgent`, `requestID`).

use super::region::Region;

/// Who is calling, in which Region, and through what.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The Region the request is for (HTTP: the SigV4 credential scope).
    pub region: Region,
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
