//! CloudTrail-style event records, one JSON object per line, in one file per Region:
//! `<data dir>/audit/<region>.jsonl`. Secrets (plaintexts, ciphertexts, key material,
//! import tokens) never appear in a record.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use crate::domain::region::Region;
use crate::domain::request::{RequestContext, UserIdentity};
use crate::domain::time::Timestamp;

/// Request members that carry secrets or bulk binary data and are left out of records.
const OMITTED: &[&str] = &[
    "Plaintext",
    "CiphertextBlob",
    "EncryptedKeyMaterial",
    "ImportToken",
    "Message",
    "Signature",
    "Mac",
    "PublicKey",
    "Policy",
    "Recipient",
];

/// How a call failed, as CloudTrail records it.
#[derive(Debug, Clone, Copy)]
pub struct CallError<'a> {
    /// The AWS error type (`errorCode`), e.g. `NotFoundException`.
    pub code: &'a str,
    /// The error message (`errorMessage`).
    pub message: &'a str,
}

/// The per-Region audit logs.
pub struct Audit {
    files: HashMap<Region, Mutex<BufWriter<File>>>,
}

fn lower_camel(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The request members an audit record may show: the request without its secret and
/// bulk members (plaintexts, ciphertexts, key material, import tokens, policies).
pub fn request_record(input: &Value) -> Value {
    match input.as_object() {
        Some(obj) => Value::Object(
            obj.iter()
                .filter(|(k, _)| !OMITTED.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => Value::Null,
    }
}

/// The request members as CloudTrail shows them (lower camel case, secrets left out).
fn request_parameters(input: &Value) -> Value {
    let mut out = Map::new();
    if let Some(obj) = input.as_object() {
        for (k, v) in obj {
            if !OMITTED.contains(&k.as_str()) {
                out.insert(lower_camel(k), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The key ARN a response names, for `resources`.
fn resource_arn(response: Option<&Value>) -> Option<String> {
    let r = response?;
    r.pointer("/KeyMetadata/Arn")
        .or_else(|| r.get("KeyId"))
        .and_then(|v| v.as_str())
        .filter(|s| s.starts_with("arn:"))
        .map(str::to_string)
}

/// CloudTrail's `userIdentity` object.
pub fn user_identity(who: &UserIdentity) -> Value {
    let mut out = json!({
        "type": who.kind.as_str(),
        "principalId": who.principal_id,
        "arn": who.arn,
        "accountId": who.account_id,
        "accessKeyId": who.access_key_id,
    });
    if let Some(name) = &who.user_name {
        out["userName"] = json!(name);
    }
    if let Some(s) = &who.session {
        out["sessionContext"] = json!({
            "sessionIssuer": {
                "type": "Role",
                "principalId": s.principal_id,
                "arn": s.arn,
                "accountId": s.account_id,
                "userName": s.user_name,
            },
            "attributes": {
                "creationDate": s.creation_date.iso8601(),
                "mfaAuthenticated": "false",
            },
        });
    }
    out
}

impl Audit {
    /// Opens (appending) one log per served Region.
    pub fn open(dir: &Path, regions: &[Region]) -> std::io::Result<Audit> {
        std::fs::create_dir_all(dir)?;
        let mut files = HashMap::new();
        for region in regions {
            // Owner only, whatever the umask (the data directory's modes: data_dir.rs).
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(dir.join(format!("{region}.jsonl")))?;
            files.insert(*region, Mutex::new(BufWriter::with_capacity(1 << 16, f)));
        }
        Ok(Audit { files })
    }

    /// Appends a record. Records of changes are flushed at once; read-only records
    /// (the crypto hot path) are flushed by [`Audit::flush`] every 200 ms.
    fn write(&self, region: Region, record: &Value) {
        if let Some(f) = self.files.get(&region) {
            let mut f = f.lock();
            let _ = serde_json::to_writer(&mut *f, record);
            let _ = f.write_all(b"\n");
            if record.get("readOnly") != Some(&Value::Bool(true)) {
                let _ = f.flush();
            }
        }
    }

    /// Writes buffered records to their files. Called every few hundred milliseconds and
    /// at shutdown (records are buffered so the hot path makes no write syscall).
    pub fn flush(&self) {
        for f in self.files.values() {
            let _ = f.lock().flush();
        }
    }

    /// Records an API call made by a caller (`who`, CloudTrail's `userIdentity`) on a
    /// resource of `account` (`recipientAccountId`). `read_only`: the call changes nothing
    /// (CloudTrail's `readOnly`; such records are buffered, see [`Audit::flush`]).
    #[allow(clippy::too_many_arguments)]
    pub fn record_call(
        &self,
        ctx: &RequestContext,
        who: &UserIdentity,
        account: &str,
        event: &str,
        read_only: bool,
        input: &Value,
        response: Option<&Value>,
        error: Option<CallError<'_>>,
        time: Timestamp,
    ) {
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": user_identity(who),
            "eventTime": time.iso8601(),
            "eventSource": "kms.amazonaws.com",
            "eventName": event,
            "awsRegion": ctx.region.as_str(),
            "sourceIPAddress": ctx.source_ip,
            "userAgent": ctx.user_agent,
            "requestParameters": request_parameters(input),
            "responseElements": Value::Null,
            "requestID": ctx.request_id,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
        });
        if let Some(service) = ctx.invoked_by {
            record["userIdentity"]["invokedBy"] = json!(service);
        }
        if let Some(arn) = resource_arn(response) {
            record["resources"] = json!([{
                "accountId": account,
                "type": "AWS::KMS::Key",
                "ARN": arn,
            }]);
        }
        if let Some(e) = error {
            record["errorCode"] = json!(e.code);
            record["errorMessage"] = json!(e.message);
        } else if event == "CreateKey" {
            record["responseElements"] =
                json!({ "keyMetadata": response.and_then(|r| r.get("KeyMetadata")) });
        }
        self.write(ctx.region, &record);
    }

    /// Records an event the service itself performed (e.g. DeleteKey at the end of the
    /// waiting period).
    pub fn record_service_event(
        &self,
        region: Region,
        event: &str,
        arn: &str,
        account: &str,
        time: Timestamp,
    ) {
        let record = json!({
            "eventVersion": "1.08",
            "userIdentity": { "accountId": account, "invokedBy": "kms.amazonaws.com" },
            "eventTime": time.iso8601(),
            "eventSource": "kms.amazonaws.com",
            "eventName": event,
            "awsRegion": region.as_str(),
            "sourceIPAddress": "kms.amazonaws.com",
            "userAgent": "kms.amazonaws.com",
            "requestParameters": null,
            "responseElements": null,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "readOnly": false,
            "resources": [{ "accountId": account, "type": "AWS::KMS::Key", "ARN": arn }],
            "eventType": "AwsServiceEvent",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management",
        });
        self.write(region, &record);
    }
}
