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

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
#[cfg(test)]
use serde_json::Map;
use serde_json::{json, Value};

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

/// The usual size of a record line, reserved for the per-thread line buffer.
const LINE_CAPACITY: usize = 1024;

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

/// The request members as CloudTrail shows them (lower camel case, secrets left out), as
/// a JSON object: the reference [`write_request_parameters`] is tested against.
#[cfg(test)]
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
fn resource_arn(response: Option<&Value>) -> Option<&str> {
    let r = response?;
    r.get("KeyMetadata")
        .and_then(|m| m.get("Arn"))
        .or_else(|| r.get("KeyId"))
        .and_then(|v| v.as_str())
        .filter(|s| s.starts_with("arn:"))
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends a JSON value.
fn json_value(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Appends the request members as CloudTrail shows them ([`request_parameters`]: lower
/// camel case, secrets left out), in the key order of the JSON object it builds (sorted,
/// the later of two equal keys winning).
fn write_request_parameters(out: &mut Vec<u8>, input: &Value) {
    let mut members: Vec<(Cow<'_, str>, &Value)> = Vec::new();
    if let Some(obj) = input.as_object() {
        members.reserve(obj.len());
        for (k, v) in obj {
            if !OMITTED.contains(&k.as_str()) {
                let key = match k.chars().next() {
                    Some(f) if f.is_ascii() && !f.is_ascii_uppercase() => Cow::Borrowed(k.as_str()),
                    None => Cow::Borrowed(k.as_str()),
                    Some(_) => Cow::Owned(lower_camel(k)),
                };
                members.push((key, v));
            }
        }
    }
    // A stable sort: of equal keys the later one stays last, and wins below.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(b'{');
    let mut first = true;
    for (i, (k, v)) in members.iter().enumerate() {
        if members.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        json_str(out, k);
        out.push(b':');
        json_value(out, v);
    }
    out.push(b'}');
}

/// Appends the CloudTrail record of an API call as one JSON object, written straight into
/// `out`: the members in the (sorted) order the record has always had, the event time
/// without a formatter.
#[allow(clippy::too_many_arguments)]
fn write_call_record(
    out: &mut Vec<u8>,
    ctx: &RequestContext,
    account: &str,
    event: &str,
    read_only: bool,
    input: &Value,
    response: Option<&Value>,
    error: Option<CallError<'_>>,
    time: Timestamp,
) {
    out.extend_from_slice(b"{\"awsRegion\":");
    json_str(out, ctx.region.as_str());
    if let Some(e) = &error {
        out.extend_from_slice(b",\"errorCode\":");
        json_str(out, e.code);
        out.extend_from_slice(b",\"errorMessage\":");
        json_str(out, e.message);
    }
    out.extend_from_slice(b",\"eventCategory\":\"Management\",\"eventID\":\"");
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    out.extend_from_slice(
        crate::domain::ids::call_uuid()
            .hyphenated()
            .encode_lower(&mut id)
            .as_bytes(),
    );
    out.extend_from_slice(b"\",\"eventName\":");
    json_str(out, event);
    out.extend_from_slice(b",\"eventSource\":\"kms.amazonaws.com\",\"eventTime\":");
    match time.iso8601_bytes() {
        Some(t) => {
            out.push(b'"');
            out.extend_from_slice(&t);
            out.push(b'"');
        }
        None => json_str(out, &time.iso8601()),
    }
    out.extend_from_slice(
        b",\"eventType\":\"AwsApiCall\",\"eventVersion\":\"1.08\",\"managementEvent\":true,\"readOnly\":",
    );
    out.extend_from_slice(if read_only { b"true" } else { b"false" });
    out.extend_from_slice(b",\"recipientAccountId\":");
    json_str(out, account);
    out.extend_from_slice(b",\"requestID\":");
    json_str(out, &ctx.request_id);
    out.extend_from_slice(b",\"requestParameters\":");
    write_request_parameters(out, input);
    if let Some(arn) = resource_arn(response) {
        out.extend_from_slice(b",\"resources\":[{\"ARN\":");
        json_str(out, arn);
        out.extend_from_slice(b",\"accountId\":");
        json_str(out, account);
        out.extend_from_slice(b",\"type\":\"AWS::KMS::Key\"}]");
    }
    out.extend_from_slice(b",\"responseElements\":");
    if error.is_none() && event == "CreateKey" {
        out.extend_from_slice(b"{\"keyMetadata\":");
        match response.and_then(|r| r.get("KeyMetadata")) {
            Some(m) => json_value(out, m),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
    } else {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b",\"sourceIPAddress\":");
    json_str(out, &ctx.source_ip);
    out.extend_from_slice(b",\"userAgent\":");
    json_str(out, &ctx.user_agent);
    out.extend_from_slice(b",\"userIdentity\":{\"accessKeyId\":");
    json_str(out, &ctx.access_key);
    out.extend_from_slice(b",\"accountId\":");
    json_str(out, account);
    if let Some(service) = ctx.invoked_by {
        out.extend_from_slice(b",\"invokedBy\":");
        json_str(out, service);
    }
    out.extend_from_slice(b",\"type\":\"IAMUser\"}}");
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

    /// Appends a record (one JSON line, newline included). Records of changes (and in
    /// strict mode every record) are written to the file at once; read-only records (the
    /// crypto hot path) are written by [`Audit::flush`] every 200 ms.
    fn write(&self, region: Region, line: &[u8], read_only: bool) -> Result<(), AuditError> {
        let Some(log) = self.files.get(&region) else {
            return Ok(());
        };
        let now = self.every_record_written || !read_only;
        let written = {
            let mut f = log.file.lock();
            f.write_all(line)
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
        // One line buffer per thread, reused (a record holds no secret).
        thread_local! {
            static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(LINE_CAPACITY));
        }
        let record = |line: &mut Vec<u8>| {
            line.clear();
            write_call_record(
                line, ctx, account, event, read_only, input, response, error, time,
            );
            line.push(b'\n');
            self.write(ctx.region, line, read_only)
        };
        LINE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut line) => {
                let written = record(&mut line);
                if line.capacity() > 16 * LINE_CAPACITY {
                    // An outsized record (a long request) does not keep its memory.
                    *line = Vec::with_capacity(LINE_CAPACITY);
                }
                written
            }
            Err(_) => record(&mut Vec::with_capacity(LINE_CAPACITY)),
        })
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
        let mut line = serde_json::to_vec(&record).unwrap_or_default();
        line.push(b'\n');
        // Counted and logged by `write`; the service's own event has no caller to fail.
        let _ = self.write(region, &line, false);
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

    /// The record as it was built before records were written straight into bytes: a
    /// JSON object whose serialisation each written record must equal.
    #[allow(clippy::too_many_arguments)]
    fn reference_record(
        ctx: &RequestContext,
        account: &str,
        event: &str,
        read_only: bool,
        input: &Value,
        response: Option<&Value>,
        error: Option<CallError<'_>>,
        time: Timestamp,
        event_id: &str,
    ) -> Value {
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "accountId": account,
                "accessKeyId": ctx.access_key,
            },
            "eventTime": chrono::DateTime::from_timestamp(time.secs().floor() as i64, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            "eventSource": "kms.amazonaws.com",
            "eventName": event,
            "awsRegion": ctx.region.as_str(),
            "sourceIPAddress": ctx.source_ip,
            "userAgent": ctx.user_agent,
            "requestParameters": request_parameters(input),
            "responseElements": Value::Null,
            "requestID": ctx.request_id,
            "eventID": event_id,
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
        record
    }

    #[test]
    fn records_written_straight_are_byte_for_byte_the_json_records() {
        let region = Region::parse("eu-west-1").expect("region");
        let mut odd = ctx(region);
        odd.user_agent = "aws-cli/2 \"quoted\" \\ tab\t ünïcödé \u{1}".into();
        odd.source_ip = "::1".into();
        odd.invoked_by = Some("cloudformation.amazonaws.com");
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let metadata = json!({"KeyMetadata": {"Arn": arn, "KeyId": "1234", "Enabled": true}});
        let encrypt_out = json!({"KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"});
        let not_an_arn = json!({"KeyId": "not-an-arn"});
        let inputs = [
            json!({}),
            json!({"KeyId": "alias/x", "Plaintext": "c2VjcmV0", "EncryptionContext": {"b": "2", "a": "1"}}),
            json!({"Tags": [{"TagKey": "k", "TagValue": "v"}], "Policy": "{}", "Description": "d"}),
            // Unknown members of any case: CloudTrail's lower camel case, one per key.
            json!({"zeta": 1, "Alpha": [1, 2.5, null], "alpha": "later wins", "_x": true, "Éclair": "é", "": 0}),
            Value::Null,
        ];
        let error = CallError {
            code: "NotFoundException",
            message: "Key 'arn:…' does not exist \"here\"",
        };
        let cases: Vec<(
            &RequestContext,
            &str,
            bool,
            Option<&Value>,
            Option<CallError<'_>>,
            f64,
        )> = vec![
            (
                &odd,
                "Encrypt",
                true,
                Some(&encrypt_out),
                None,
                1_795_449_131.9,
            ),
            (&odd, "CreateKey", false, Some(&metadata), None, 0.0),
            (&odd, "CreateKey", false, None, None, 951_782_400.5),
            (&odd, "CreateKey", false, Some(&metadata), Some(error), 1.0),
            (&odd, "DescribeKey", true, None, Some(error), -1.5),
            (
                &odd,
                "Decrypt",
                true,
                Some(&not_an_arn),
                None,
                4_107_542_400.0,
            ),
        ];
        let mut plain = ctx(region);
        plain.invoked_by = None;
        for input in &inputs {
            for (i, (c, event, read_only, response, error, secs)) in cases.iter().enumerate() {
                for c in [*c, &plain] {
                    let time = Timestamp::from_secs(*secs);
                    let mut written = Vec::new();
                    write_call_record(
                        &mut written,
                        c,
                        "111122223333",
                        event,
                        *read_only,
                        input,
                        *response,
                        *error,
                        time,
                    );
                    let parsed: Value = serde_json::from_slice(&written).expect("valid JSON");
                    let id = parsed["eventID"].as_str().expect("eventID").to_string();
                    assert_eq!(
                        uuid::Uuid::parse_str(&id).expect("uuid").get_version_num(),
                        4
                    );
                    let reference = reference_record(
                        c,
                        "111122223333",
                        event,
                        *read_only,
                        input,
                        *response,
                        *error,
                        time,
                        &id,
                    );
                    assert_eq!(
                        String::from_utf8(written).expect("utf-8"),
                        serde_json::to_string(&reference).expect("json"),
                        "case {i}, input {input}"
                    );
                }
            }
        }
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
