//! CloudTrail-style event records, one JSON object per line, in one file per Region:
//! `<data dir>/audit/<region>.jsonl`. Secrets (plaintexts, ciphertexts, key material,
//! import tokens) never appear in a record.
//!
//! [`Audit::lookup`] answers CloudTrail's LookupEvents over a Region's file: it reads the
//! file backwards from its end (records are appended in time order, and LookupEvents lists
//! the most recent first), so a page costs what it reads, and a page token is the file
//! offset where the previous page stopped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

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
    dir: PathBuf,
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
        Ok(Audit {
            dir: dir.to_path_buf(),
            files,
        })
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

/// A LookupEvents lookup attribute (`AttributeKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

impl LookupKey {
    pub fn parse(s: &str) -> Option<LookupKey> {
        Some(match s {
            "EventId" => LookupKey::EventId,
            "EventName" => LookupKey::EventName,
            "ReadOnly" => LookupKey::ReadOnly,
            "Username" => LookupKey::Username,
            "ResourceType" => LookupKey::ResourceType,
            "ResourceName" => LookupKey::ResourceName,
            "EventSource" => LookupKey::EventSource,
            "AccessKeyId" => LookupKey::AccessKeyId,
            _ => return None,
        })
    }
}

/// What LookupEvents asks for.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub attribute: Option<(LookupKey, String)>,
    /// Epoch seconds, inclusive.
    pub start: Option<f64>,
    pub end: Option<f64>,
    /// 1 to 50.
    pub max_results: usize,
    /// Where the previous page stopped (see [`LookupPage::next`]).
    pub before: Option<u64>,
}

/// One page of LookupEvents: its `Events` and, when more remain, the offset to continue
/// from.
#[derive(Debug)]
pub struct LookupPage {
    pub events: Vec<Value>,
    pub next: Option<u64>,
}

/// How much of the file is read at a time, backwards.
const LOOKUP_CHUNK: u64 = 64 * 1024;

impl Audit {
    /// The events of `region`'s log that `q` selects, most recent first (CloudTrail's
    /// LookupEvents `Events`).
    pub fn lookup(&self, region: Region, q: &Lookup) -> std::io::Result<LookupPage> {
        // Records still buffered are written first, and the length taken under the lock
        // ends on a whole record.
        let end = match self.files.get(&region) {
            Some(f) => {
                let mut f = f.lock();
                f.flush()?;
                f.get_ref().metadata()?.len()
            }
            None => {
                return Ok(LookupPage {
                    events: Vec::new(),
                    next: None,
                })
            }
        };
        let end = q.before.map_or(end, |b| b.min(end));
        let mut file = File::open(self.dir.join(format!("{region}.jsonl")))?;
        let mut events = Vec::new();
        let mut next = None;
        scan_back(&mut file, end, |offset, line| {
            let Ok(record) = serde_json::from_slice::<Value>(line) else {
                return true;
            };
            let Some(event) = lookup_event(&record, line) else {
                return true;
            };
            if !selected(&event, q) {
                return true;
            }
            if events.len() == q.max_results {
                // One more exists: the next page starts with it.
                next = Some(offset + line.len() as u64 + 1);
                return false;
            }
            events.push(event);
            true
        })?;
        Ok(LookupPage { events, next })
    }
}

/// Calls `visit(offset, line)` for each line of `file[..end]`, last line first, until it
/// returns false.
fn scan_back(
    file: &mut File,
    end: u64,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> std::io::Result<()> {
    let mut pos = end;
    // The start of a line cut by the previous chunk's first byte.
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 {
        let n = LOOKUP_CHUNK.min(pos);
        pos -= n;
        let mut chunk = vec![0u8; n as usize];
        file.seek(SeekFrom::Start(pos))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&carry);
        let mut line_end = chunk.len();
        while let Some(nl) = chunk[..line_end].iter().rposition(|&b| b == b'\n') {
            let line = &chunk[nl + 1..line_end];
            if !line.is_empty() && !visit(pos + nl as u64 + 1, line) {
                return Ok(());
            }
            line_end = nl;
        }
        carry = chunk[..line_end].to_vec();
    }
    if !carry.is_empty() {
        visit(0, &carry);
    }
    Ok(())
}

/// A record as LookupEvents lists it (`Event`).
fn lookup_event(record: &Value, line: &[u8]) -> Option<Value> {
    let time = chrono::DateTime::parse_from_rfc3339(record.get("eventTime")?.as_str()?).ok()?;
    let who = record.get("userIdentity");
    let username = who.and_then(|w| match w.get("type").and_then(Value::as_str) {
        Some("Root") => Some("root".to_string()),
        Some("AssumedRole") => w
            .get("arn")
            .and_then(Value::as_str)
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_string),
        _ => w
            .get("userName")
            .and_then(Value::as_str)
            .map(str::to_string),
    });
    let resources: Vec<Value> = record
        .get("resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|r| json!({"ResourceType": r.get("type"), "ResourceName": r.get("ARN")}))
                .collect()
        })
        .unwrap_or_default();
    let mut event = json!({
        "EventId": record.get("eventID"),
        "EventName": record.get("eventName"),
        "ReadOnly": record.get("readOnly").and_then(Value::as_bool).unwrap_or(false).to_string(),
        "EventTime": time.timestamp(),
        "EventSource": record.get("eventSource"),
        "Resources": resources,
        "CloudTrailEvent": String::from_utf8_lossy(line),
    });
    if let Some(key) = who.and_then(|w| w.get("accessKeyId")) {
        event["AccessKeyId"] = key.clone();
    }
    if let Some(name) = username {
        event["Username"] = json!(name);
    }
    Some(event)
}

/// Whether an event matches the lookup attribute and time range.
fn selected(event: &Value, q: &Lookup) -> bool {
    let t = event["EventTime"].as_f64().unwrap_or(0.0);
    if q.start.is_some_and(|s| t < s.floor()) || q.end.is_some_and(|e| t > e) {
        return false;
    }
    let Some((key, value)) = &q.attribute else {
        return true;
    };
    let is = |v: &Value| v.as_str() == Some(value.as_str());
    match key {
        LookupKey::EventId => is(&event["EventId"]),
        LookupKey::EventName => is(&event["EventName"]),
        LookupKey::ReadOnly => is(&event["ReadOnly"]),
        LookupKey::Username => is(&event["Username"]),
        LookupKey::EventSource => is(&event["EventSource"]),
        LookupKey::AccessKeyId => is(&event["AccessKeyId"]),
        LookupKey::ResourceType => event["Resources"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| is(&r["ResourceType"]))),
        LookupKey::ResourceName => event["Resources"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| is(&r["ResourceName"]))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_records(dir: &Path, n: usize) -> Audit {
        let region = Region::parse("us-east-1").expect("Region");
        let audit = Audit::open(dir, &[region]).expect("open");
        for i in 0..n {
            let ctx = RequestContext {
                region,
                access_key: if i % 2 == 0 { "AKIAEVEN" } else { "AKIAODD" }.into(),
                request_id: format!("r{i}"),
                source_ip: "127.0.0.1".into(),
                secure_transport: false,
                user_agent: "test".into(),
                invoked_by: None,
            };
            let who = UserIdentity::root("aws", "111122223333", &ctx.access_key);
            let event = if i % 3 == 0 { "Encrypt" } else { "DescribeKey" };
            // Long requests so records straddle the chunks read backwards.
            let input = json!({"KeyId": format!("k{i}"), "Padding": "x".repeat(900)});
            audit.record_call(
                &ctx,
                &who,
                "111122223333",
                event,
                true,
                &input,
                None,
                None,
                Timestamp::from_secs(1_800_000_000.0 + i as f64),
            );
        }
        audit
    }

    #[test]
    fn lookup_pages_through_the_most_recent_first_without_repeating_or_skipping() {
        let dir = tempfile::tempdir().expect("dir");
        let audit = write_records(dir.path(), 300);
        let region = Region::parse("us-east-1").expect("Region");
        let mut q = Lookup {
            attribute: Some((LookupKey::EventName, "Encrypt".into())),
            start: None,
            end: None,
            max_results: 7,
            before: None,
        };
        let mut times = Vec::new();
        loop {
            let page = audit.lookup(region, &q).expect("lookup");
            assert!(page.events.len() <= 7);
            for e in &page.events {
                assert_eq!(e["EventName"], "Encrypt");
                assert_eq!(e["Username"], "root");
                let record: Value =
                    serde_json::from_str(e["CloudTrailEvent"].as_str().expect("text"))
                        .expect("json");
                assert_eq!(record["eventID"], e["EventId"]);
                times.push(e["EventTime"].as_i64().expect("time"));
            }
            match page.next {
                Some(n) => q.before = Some(n),
                None => break,
            }
        }
        let want: Vec<i64> = (0..300)
            .rev()
            .filter(|i| i % 3 == 0)
            .map(|i| 1_800_000_000 + i)
            .collect();
        assert_eq!(times, want);
    }

    #[test]
    fn lookup_filters_by_attribute_and_time_range() {
        let dir = tempfile::tempdir().expect("dir");
        let audit = write_records(dir.path(), 20);
        let region = Region::parse("us-east-1").expect("Region");
        let page = audit
            .lookup(
                region,
                &Lookup {
                    attribute: Some((LookupKey::AccessKeyId, "AKIAODD".into())),
                    start: Some(1_800_000_005.0),
                    end: Some(1_800_000_011.0),
                    max_results: 50,
                    before: None,
                },
            )
            .expect("lookup");
        let times: Vec<i64> = page
            .events
            .iter()
            .map(|e| e["EventTime"].as_i64().expect("time"))
            .collect();
        assert_eq!(
            times,
            vec![1_800_000_011, 1_800_000_009, 1_800_000_007, 1_800_000_005]
        );
        assert!(page.next.is_none());
    }
}
