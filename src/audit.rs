//! CloudTrail-style event records, one JSON object per line, in one file per Region:
//! `<data dir>/audit/<region>.jsonl`. Secrets (plaintexts, ciphertexts, key material,
//! import tokens) never appear in a record.
//!
//! Durability: records of changes are written to the file (the operating system) before
//! the response; records of read-only calls are buffered and written by [`Audit::flush`]
//! every 200 ms, which also fsyncs every file. In strict mode ([`Audit::open`] with
//! `every_record_written`) every record is written before the response, and a record
//! that cannot be written fails its request (AWS records every call): the caller checks
//! [`Audit::writable`] before running an operation and the result of
//! [`Audit::record_call`] after. A failed write or flush is counted ([`Audit::failures`])
//! and logged (the first of a run of failures, then every 1,000th, and the recovery).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use crate::domain::region::Region;
use crate::domain::request::RequestContext;
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
    files: HashMap<Region, Log>,
    /// Strict mode: every record is written to the file before the call returns.
    every_record_written: bool,
    failures: AtomicU64,
}

/// One Region's log and whether its last write failed.
struct Log {
    file: Mutex<BufWriter<File>>,
    failing: AtomicBool,
}

/// A record that could not be written to a Region's audit log.
#[derive(Debug, thiserror::Error)]
#[error("the audit log of {region} cannot be written: {source}")]
pub struct AuditError {
    pub region: Region,
    #[source]
    pub source: std::io::Error,
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

impl Audit {
    /// Opens (appending) one log per served Region. `every_record_written`: strict mode
    /// (see the module documentation).
    pub fn open(
        dir: &Path,
        regions: &[Region],
        every_record_written: bool,
    ) -> std::io::Result<Audit> {
        std::fs::create_dir_all(dir)?;
        let mut files = HashMap::new();
        for region in regions {
            // Owner only, whatever the umask (the data directory's modes: data_dir.rs).
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(dir.join(format!("{region}.jsonl")))?;
            files.insert(
                *region,
                Log {
                    file: Mutex::new(BufWriter::with_capacity(1 << 16, f)),
                    failing: AtomicBool::new(false),
                },
            );
        }
        Ok(Audit {
            files,
            every_record_written,
            failures: AtomicU64::new(0),
        })
    }

    /// How many audit writes and flushes have failed since the start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Counts and logs a failure of `region`'s log.
    fn failed(&self, region: Region, log: &Log, what: &str, e: &std::io::Error) {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        let first = !log.failing.swap(true, Ordering::Relaxed);
        if first || n.is_multiple_of(1000) {
            tracing::error!(
                %region,
                failures = n,
                "audit log: {what} failed: {e} (records of this Region are being lost)"
            );
        }
    }

    fn succeeded(&self, region: Region, log: &Log) {
        if log.failing.swap(false, Ordering::Relaxed) {
            tracing::warn!(%region, failures = self.failures(), "audit log writable again");
        }
    }

    /// Appends a record. Records of changes (and in strict mode every record) are written
    /// to the file at once; read-only records (the crypto hot path) are written by
    /// [`Audit::flush`] every 200 ms.
    fn write(&self, region: Region, record: &Value) -> Result<(), AuditError> {
        let Some(log) = self.files.get(&region) else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        let now = self.every_record_written || record.get("readOnly") != Some(&Value::Bool(true));
        let written = {
            let mut f = log.file.lock();
            f.write_all(&line)
                .and_then(|()| if now { f.flush() } else { Ok(()) })
        };
        match written {
            Ok(()) => {
                if now {
                    self.succeeded(region, log);
                }
                Ok(())
            }
            Err(source) => {
                self.failed(region, log, "writing a record", &source);
                Err(AuditError { region, source })
            }
        }
    }

    /// True unless `region`'s last write failed and its buffered records still cannot be
    /// written (tried again here).
    pub fn writable(&self, region: Region) -> bool {
        let Some(log) = self.files.get(&region) else {
            return true;
        };
        if !log.failing.load(Ordering::Relaxed) {
            return true;
        }
        let flushed = log.file.lock().flush();
        match flushed {
            Ok(()) => {
                self.succeeded(region, log);
                true
            }
            Err(e) => {
                self.failed(region, log, "writing buffered records", &e);
                false
            }
        }
    }

    /// Writes buffered records to their files and fsyncs them. Called every 200 ms and at
    /// shutdown (read-only records are buffered so the hot path makes no write syscall).
    pub fn flush(&self) {
        for (region, log) in &self.files {
            let done = {
                let mut f = log.file.lock();
                f.flush().and_then(|()| f.get_ref().sync_data())
            };
            match done {
                Ok(()) => self.succeeded(*region, log),
                Err(e) => self.failed(*region, log, "flushing to disk", &e),
            }
        }
    }

    /// Records an API call made by a caller. `read_only`: the call changes nothing
    /// (CloudTrail's `readOnly`; such records are buffered, see [`Audit::flush`]).
    #[allow(clippy::too_many_arguments)]
    pub fn record_call(
        &self,
        ctx: &RequestContext,
        account: &str,
        event: &str,
        read_only: bool,
        input: &Value,
        response: Option<&Value>,
        error: Option<CallError<'_>>,
        time: Timestamp,
    ) -> Result<(), AuditError> {
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "accountId": account,
                "accessKeyId": ctx.access_key,
            },
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
        self.write(ctx.region, &record)
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
        // Counted and logged by `write`; the service's own event has no caller to fail.
        let _ = self.write(region, &record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(region: Region) -> RequestContext {
        RequestContext {
            region,
            access_key: "AKIDEXAMPLE".into(),
            request_id: "r".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
            invoked_by: None,
        }
    }

    fn call(audit: &Audit, region: Region, read_only: bool) -> Result<(), AuditError> {
        audit.record_call(
            &ctx(region),
            "111122223333",
            "Encrypt",
            read_only,
            &json!({"KeyId": "k"}),
            None,
            None,
            Timestamp::from_secs(1.0),
        )
    }

    #[test]
    fn a_full_disk_is_counted_and_in_strict_mode_reported_to_the_caller() {
        let region = Region::parse("us-east-1").expect("region");
        let dir = tempfile::tempdir().expect("temp dir");
        // /dev/full: every write fails with ENOSPC.
        std::os::unix::fs::symlink("/dev/full", dir.path().join("us-east-1.jsonl"))
            .expect("symlink");
        let open = Audit::open(dir.path(), &[region], false).expect("open");
        assert!(call(&open, region, true).is_ok(), "buffered: not known yet");
        open.flush();
        assert!(open.failures() >= 1);
        assert!(!open.writable(region));

        let strict = Audit::open(dir.path(), &[region], true).expect("open");
        let e = call(&strict, region, true).expect_err("strict: written at once");
        assert!(e.to_string().contains("us-east-1"), "{e}");
        assert_eq!(strict.failures(), 1);
        assert!(!strict.writable(region));
    }

    #[test]
    fn records_of_changes_reach_the_file_before_the_call_returns() {
        let region = Region::parse("us-east-1").expect("region");
        let dir = tempfile::tempdir().expect("temp dir");
        let audit = Audit::open(dir.path(), &[region], false).expect("open");
        call(&audit, region, false).expect("written");
        let text = std::fs::read_to_string(dir.path().join("us-east-1.jsonl")).expect("read");
        assert_eq!(text.lines().count(), 1);
        call(&audit, region, true).expect("buffered");
        audit.flush();
        let text = std::fs::read_to_string(dir.path().join("us-east-1.jsonl")).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert_eq!(audit.failures(), 0);
        assert!(audit.writable(region));
    }
}
