//! CloudTrail-style event records, one JSON object per line, in one file per Region:
//! `<data dir>/audit/<region>.jsonl` — the calls of the KMS API and of the CloudFormation
//! API served on the same port, and the events the service itself performs. Secrets
//! (plaintexts, ciphertexts, key material, import tokens, template bodies, parameter
//! values, grant tokens) never appear in a record.
//!
//! Durability: records of changes are written to the file (the operating system) before
//! the response; records of read-only calls are buffered and written by [`Audit::flush`]
//! every 200 ms, which also fsyncs every file. In strict mode ([`Audit::open`] with
//! `every_record_written`) every record is written before the response, and a record
//! that cannot be written fails its request (AWS records every call): the caller checks
//! [`Audit::writable`] before running an operation and the result of
//! [`Audit::record_call`] / [`Audit::record_api_call`] after — the KMS API and the
//! CloudFormation API alike. A failed write or flush is counted ([`Audit::failures`])
//! and logged (the first of a run of failures, then every 1,000th, and the recovery).
//!
//! [`Audit::lookup`] answers CloudTrail's LookupEvents over a Region's file: it reads the
//! file backwards from its end (records are appended in time order, and LookupEvents lists
//! the most recent first), so a page costs what it reads, and a page token is the file
//! offset where the previous page stopped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    // A grant token lets its grantee use the grant: CloudTrail never shows one.
    "GrantToken",
    "GrantTokens",
];

/// Request members that are structures: CloudTrail writes their member names in lower
/// camel case too (the keys of a map inside them, such as an encryption context, stay as
/// they are).
const STRUCTURES: &[&str] = &["Constraints"];

/// What an operation adds to its audit record that neither its request nor its response
/// shows.
#[derive(Debug, Clone, Default)]
pub struct RecordDetail {
    /// `resources`: the ARN of the key the call acted on, where the response does not
    /// name it (the grant operations).
    pub key_arn: Option<String>,
    /// `responseElements`, where CloudTrail shows some (CreateGrant: the grant id, never
    /// the token).
    pub response_elements: Option<Value>,
    /// `additionalEventData` (RetireGrant: the grant id).
    pub additional_event_data: Option<Value>,
}

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

/// The AWS service whose API a record is of (CloudTrail's `eventSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    Kms,
    CloudFormation,
    Sts,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Kms => "kms.amazonaws.com",
            EventSource::CloudFormation => "cloudformation.amazonaws.com",
            EventSource::Sts => "sts.amazonaws.com",
        }
    }
}

/// One API call as its audit record shows it (besides who called: the request context).
#[derive(Debug)]
pub struct ApiCall<'a> {
    /// Who made it (`userIdentity`), as the verification step found the caller.
    pub who: &'a UserIdentity,
    pub source: EventSource,
    /// The account the call was made in (`recipientAccountId`).
    pub account: &'a str,
    /// The operation (`eventName`).
    pub event: &'a str,
    /// The call changes nothing (`readOnly`): its record is buffered, see [`Audit::flush`].
    pub read_only: bool,
    /// The request members the record shows (`requestParameters`), secrets left out.
    pub request_parameters: Value,
    /// What the response is recorded as (`responseElements`; `null` for most calls).
    pub response_elements: Value,
    /// The resources the call acted on (`resources`), or `null`.
    pub resources: Value,
    /// `additionalEventData`, or `null`.
    pub additional_event_data: Value,
    /// How the call failed, if it did.
    pub error: Option<CallError<'a>>,
    pub time: Timestamp,
}

/// The per-Region audit logs.
pub struct Audit {
    dir: PathBuf,
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

/// The request members as CloudTrail shows them (lower camel case, secrets left out);
/// `null` when none is left, as CloudTrail writes a request without parameters.
fn request_parameters(input: &Value) -> Value {
    let mut out = Map::new();
    if let Some(obj) = input.as_object() {
        for (k, v) in obj {
            if OMITTED.contains(&k.as_str()) {
                continue;
            }
            let v = match v.as_object() {
                Some(members) if STRUCTURES.contains(&k.as_str()) => Value::Object(
                    members
                        .iter()
                        .map(|(m, mv)| (lower_camel(m), mv.clone()))
                        .collect(),
                ),
                _ => v.clone(),
            };
            out.insert(lower_camel(k), v);
        }
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// A member value of a record written by [`write_api_call`].
enum Field<'a> {
    Str(&'a str),
    Bool(bool),
    Json(&'a Value),
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends the CloudTrail record of `call` as one JSON object, written straight into
/// `out` rather than built as a JSON tree first: the members sorted by name, as the tree
/// (a sorted map) has always written them; the event time without a formatter; the event
/// id from [`crate::domain::ids::call_uuid`].
fn write_api_call(out: &mut Vec<u8>, ctx: &RequestContext, call: &ApiCall<'_>) {
    let mut identity = user_identity(call.who);
    let (source_ip, user_agent) = match ctx.invoked_by {
        Some(service) => {
            // A call an AWS service made for the caller: CloudTrail names the service.
            identity["invokedBy"] = json!(service);
            (service, service)
        }
        None => (ctx.source_ip.as_str(), ctx.user_agent.as_str()),
    };
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let event_id = crate::domain::ids::call_uuid()
        .hyphenated()
        .encode_lower(&mut id);
    let time_bytes = call.time.iso8601_bytes();
    let time_text;
    let event_time = match time_bytes.as_ref().map(|b| std::str::from_utf8(b)) {
        Some(Ok(t)) => t,
        _ => {
            time_text = call.time.iso8601();
            time_text.as_str()
        }
    };
    let mut members: Vec<(&str, Field<'_>)> = Vec::with_capacity(24);
    members.extend([
        ("eventVersion", Field::Str("1.08")),
        ("userIdentity", Field::Json(&identity)),
        ("eventTime", Field::Str(event_time)),
        ("eventSource", Field::Str(call.source.as_str())),
        ("eventName", Field::Str(call.event)),
        ("awsRegion", Field::Str(ctx.region.as_str())),
        ("sourceIPAddress", Field::Str(source_ip)),
        ("userAgent", Field::Str(user_agent)),
        ("requestParameters", Field::Json(&call.request_parameters)),
        ("responseElements", Field::Json(&call.response_elements)),
        ("requestID", Field::Str(&ctx.request_id)),
        ("eventID", Field::Str(event_id)),
        ("readOnly", Field::Bool(call.read_only)),
        ("eventType", Field::Str("AwsApiCall")),
        ("managementEvent", Field::Bool(true)),
        ("recipientAccountId", Field::Str(call.account)),
        ("eventCategory", Field::Str("Management")),
    ]);
    if !call.resources.is_null() {
        members.push(("resources", Field::Json(&call.resources)));
    }
    if !call.additional_event_data.is_null() {
        members.push((
            "additionalEventData",
            Field::Json(&call.additional_event_data),
        ));
    }
    if let Some(e) = &call.error {
        members.push(("errorCode", Field::Str(e.code)));
        members.push(("errorMessage", Field::Str(e.message)));
    }
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, name);
        out.push(b':');
        match value {
            Field::Str(s) => json_str(out, s),
            Field::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Field::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
    out.push(b'}');
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
            dir: dir.to_path_buf(),
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

    /// Appends a record (one JSON line, its newline included). Records of changes (and in
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

    /// Records a KMS API call made by a caller. `read_only`: the call changes nothing
    /// (CloudTrail's `readOnly`; such records are buffered, see [`Audit::flush`]).
    /// `input` is the request as [`request_record`] left it; `detail` what the operation
    /// adds (see [`RecordDetail`]).
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
        detail: Option<&RecordDetail>,
        time: Timestamp,
    ) -> Result<(), AuditError> {
        let key_arn = detail
            .and_then(|d| d.key_arn.clone())
            .or_else(|| resource_arn(response));
        let resources = match key_arn {
            Some(arn) => json!([{
                "accountId": account,
                "type": "AWS::KMS::Key",
                "ARN": arn,
            }]),
            None => Value::Null,
        };
        let response_elements = match detail.and_then(|d| d.response_elements.clone()) {
            Some(elements) => elements,
            None if error.is_none() && event == "CreateKey" => {
                json!({ "keyMetadata": response.and_then(|r| r.get("KeyMetadata")) })
            }
            None => Value::Null,
        };
        let additional_event_data = detail
            .and_then(|d| d.additional_event_data.clone())
            .unwrap_or(Value::Null);
        self.record_api_call(
            ctx,
            &ApiCall {
                who,
                source: EventSource::Kms,
                account,
                event,
                read_only,
                request_parameters: request_parameters(input),
                response_elements,
                resources,
                additional_event_data,
                error,
                time,
            },
        )
    }

    /// Records an API call of any service hsm-kms serves. Read-only calls are buffered
    /// unless in strict mode; an error is a record that could not be written (counted and
    /// logged here; in strict mode the caller fails the call).
    pub fn record_api_call(
        &self,
        ctx: &RequestContext,
        call: &ApiCall<'_>,
    ) -> Result<(), AuditError> {
        // One line buffer per thread, reused (a record holds no secret).
        thread_local! {
            static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(LINE_CAPACITY));
        }
        let record = |line: &mut Vec<u8>| {
            line.clear();
            write_api_call(line, ctx, call);
            line.push(b'\n');
            self.write(ctx.region, line, call.read_only)
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
            Some(log) => {
                let mut f = log.file.lock();
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

    #[test]
    fn request_parameters_are_lower_camel_without_tokens_and_null_when_empty() {
        let input = json!({
            "KeyId": "k",
            "Operations": ["Encrypt"],
            "Constraints": {"EncryptionContextSubset": {"Department": "IT"}},
            "GrantTokens": ["secret-ish"],
        });
        assert_eq!(
            request_parameters(&input),
            json!({
                "keyId": "k",
                "operations": ["Encrypt"],
                "constraints": {"encryptionContextSubset": {"Department": "IT"}},
            })
        );
        assert_eq!(request_parameters(&json!({"GrantToken": "t"})), Value::Null);
        assert_eq!(request_parameters(&json!({})), Value::Null);
    }

    fn ctx(region: &str, invoked_by: Option<&'static str>) -> RequestContext {
        RequestContext {
            region: Region::parse(region).expect("catalogue"),
            access_key: "AKIDEXAMPLE".to_string(),
            request_id: "req-1".to_string(),
            source_ip: "192.0.2.7".to_string(),
            secure_transport: false,
            user_agent: "aws-cli/2".to_string(),
            invoked_by,
        }
    }

    /// The record of `call` as it was built before records were written straight into
    /// bytes (a JSON tree, serialised): what [`write_api_call`] must write, byte for byte.
    fn reference_record(ctx: &RequestContext, call: &ApiCall<'_>, event_id: &str) -> Value {
        let mut record = json!({
            "eventVersion": "1.08",
            "userIdentity": user_identity(call.who),
            "eventTime": chrono::DateTime::from_timestamp(call.time.secs().floor() as i64, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default(),
            "eventSource": call.source.as_str(),
            "eventName": call.event,
            "awsRegion": ctx.region.as_str(),
            "sourceIPAddress": ctx.source_ip,
            "userAgent": ctx.user_agent,
            "requestParameters": call.request_parameters,
            "responseElements": call.response_elements,
            "requestID": ctx.request_id,
            "eventID": event_id,
            "readOnly": call.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": call.account,
            "eventCategory": "Management",
        });
        if let Some(service) = ctx.invoked_by {
            record["userIdentity"]["invokedBy"] = json!(service);
            record["sourceIPAddress"] = json!(service);
            record["userAgent"] = json!(service);
        }
        if !call.resources.is_null() {
            record["resources"] = call.resources.clone();
        }
        if !call.additional_event_data.is_null() {
            record["additionalEventData"] = call.additional_event_data.clone();
        }
        if let Some(e) = call.error {
            record["errorCode"] = json!(e.code);
            record["errorMessage"] = json!(e.message);
        }
        record
    }

    #[test]
    fn records_written_straight_are_byte_for_byte_the_json_records() {
        let mut odd = ctx("eu-west-1", None);
        odd.user_agent = "aws-cli/2 \"quoted\" \\ tab\t ünïcödé \u{1}".into();
        odd.source_ip = "::1".into();
        odd.request_id = "r\"1".into();
        let contexts = [
            odd,
            ctx("us-east-1", Some(crate::domain::request::CLOUDFORMATION)),
            ctx("cn-north-1", None),
        ];
        let arn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let error = CallError {
            code: "NotFoundException",
            message: "Key 'arn:…' does not exist \"here\"",
        };
        let parameters = [
            Value::Null,
            request_parameters(&json!({"KeyId": "alias/x", "Plaintext": "c2VjcmV0",
                "EncryptionContext": {"b": "2", "a": "1"}, "GrantTokens": ["t"]})),
            request_parameters(&json!({"zeta": 1, "Alpha": [1, 2.5, null], "Éclair": "é"})),
        ];
        let resources = [
            Value::Null,
            json!([{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": arn}]),
        ];
        let elements = [
            Value::Null,
            json!({"keyMetadata": {"Arn": arn, "Enabled": true}}),
        ];
        let extra = [Value::Null, json!({"grantId": "g"})];
        let alice = UserIdentity {
            kind: crate::domain::request::IdentityType::IamUser,
            principal_id: "AIDAEXAMPLE".into(),
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            account_id: "111122223333".into(),
            access_key_id: "AKIDALICE".into(),
            user_name: Some("alice \"the\" admin".into()),
            session: None,
        };
        let callers = [root(), alice];
        let mut cases = 0;
        for (c, who) in contexts.iter().zip(callers.iter().cycle()) {
            for (p, r, e, x) in [
                (&parameters[0], &resources[0], &elements[0], &extra[0]),
                (&parameters[1], &resources[1], &elements[0], &extra[0]),
                (&parameters[2], &resources[1], &elements[1], &extra[1]),
                (&parameters[1], &resources[0], &elements[1], &extra[1]),
            ] {
                for (source, failed, read_only, secs) in [
                    (EventSource::Kms, None, true, 1_795_449_131.9),
                    (EventSource::Kms, Some(error), false, 951_782_400.5),
                    (EventSource::CloudFormation, None, false, -1.5),
                    (EventSource::CloudFormation, Some(error), true, 0.0),
                ] {
                    let call = ApiCall {
                        who,
                        source,
                        account: "111122223333",
                        event: "CreateKey",
                        read_only,
                        request_parameters: p.clone(),
                        response_elements: e.clone(),
                        resources: r.clone(),
                        additional_event_data: x.clone(),
                        error: failed,
                        time: Timestamp::from_secs(secs),
                    };
                    let mut written = Vec::new();
                    write_api_call(&mut written, c, &call);
                    let parsed: Value = serde_json::from_slice(&written).expect("valid JSON");
                    let id = parsed["eventID"].as_str().expect("eventID").to_string();
                    let version = uuid::Uuid::parse_str(&id).expect("uuid").get_version_num();
                    assert_eq!(version, 4);
                    let reference = serde_json::to_string(&reference_record(c, &call, &id));
                    assert_eq!(
                        String::from_utf8(written).expect("UTF-8"),
                        reference.expect("JSON")
                    );
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 48);
    }

    /// The records written to `region`'s log.
    fn records(dir: &Path, region: &str) -> Vec<Value> {
        std::fs::read_to_string(dir.join(format!("{region}.jsonl")))
            .expect("audit file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    /// The account root as the audit log records it, signing with `AKIDEXAMPLE`.
    fn root() -> UserIdentity {
        UserIdentity::root("aws", "111122223333", "AKIDEXAMPLE")
    }

    fn call(audit: &Audit, region: Region, read_only: bool) -> Result<(), AuditError> {
        audit.record_call(
            &ctx(region.as_str(), None),
            &root(),
            "111122223333",
            "Encrypt",
            read_only,
            &json!({"KeyId": "k"}),
            None,
            None,
            None,
            Timestamp::from_secs(1.0),
        )
    }

    #[test]
    fn the_account_root_is_recorded_as_root_in_its_regions_partition() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (us, cn) = (ctx("us-east-1", None), ctx("cn-north-1", None));
        let audit = Audit::open(dir.path(), &[us.region, cn.region], false).expect("open");
        let time = Timestamp::from_secs(1_700_000_000.0);
        for c in [&us, &cn] {
            let who =
                UserIdentity::root(c.region.partition().as_str(), "111122223333", &c.access_key);
            audit
                .record_call(
                    c,
                    &who,
                    "111122223333",
                    "ListKeys",
                    true,
                    &json!({}),
                    None,
                    None,
                    None,
                    time,
                )
                .expect("written");
        }
        audit.flush();
        for (region, partition) in [("us-east-1", "aws"), ("cn-north-1", "aws-cn")] {
            let r = &records(dir.path(), region)[0];
            assert_eq!(
                r["userIdentity"],
                json!({
                    "type": "Root",
                    "principalId": "111122223333",
                    "arn": format!("arn:{partition}:iam::111122223333:root"),
                    "accountId": "111122223333",
                    "accessKeyId": "AKIDEXAMPLE",
                }),
                "{region}"
            );
            assert_eq!(r["readOnly"], true);
        }
    }

    #[test]
    fn a_call_a_service_made_names_the_service_and_cloudformation_calls_their_source() {
        let dir = tempfile::tempdir().expect("temp dir");
        let by_cfn = ctx("us-east-1", Some(crate::domain::request::CLOUDFORMATION));
        let audit = Audit::open(dir.path(), &[by_cfn.region], false).expect("open");
        let time = Timestamp::from_secs(1_700_000_000.0);
        audit
            .record_call(
                &by_cfn,
                &root(),
                "111122223333",
                "CreateAlias",
                false,
                &json!({"AliasName": "alias/x"}),
                None,
                None,
                None,
                time,
            )
            .expect("written");
        let direct = ctx("us-east-1", None);
        audit.record_api_call(
            &direct,
            &ApiCall {
                who: &root(),
                source: EventSource::CloudFormation,
                account: "111122223333",
                event: "CreateStack",
                read_only: false,
                request_parameters: json!({"stackName": "demo"}),
                response_elements: json!({"stackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/demo/1"}),
                resources: Value::Null,
                additional_event_data: Value::Null,
                error: Some(CallError {
                    code: "ValidationError",
                    message: "Stack [demo] already exists",
                }),
                time,
            },
        )
            .expect("written");
        // Not read-only: on the file without a flush.
        let r = records(dir.path(), "us-east-1");
        assert_eq!(r[0]["eventSource"], "kms.amazonaws.com");
        assert_eq!(
            r[0]["userIdentity"]["invokedBy"],
            "cloudformation.amazonaws.com"
        );
        assert_eq!(r[0]["sourceIPAddress"], "cloudformation.amazonaws.com");
        assert_eq!(r[0]["userAgent"], "cloudformation.amazonaws.com");
        assert_eq!(r[0]["requestParameters"], json!({"aliasName": "alias/x"}));
        assert_eq!(r[1]["eventSource"], "cloudformation.amazonaws.com");
        assert_eq!(r[1]["eventName"], "CreateStack");
        assert_eq!(r[1]["sourceIPAddress"], "192.0.2.7");
        assert_eq!(r[1]["userIdentity"]["type"], "Root");
        assert!(r[1]["userIdentity"].get("invokedBy").is_none());
        assert_eq!(r[1]["errorCode"], "ValidationError");
        assert_eq!(r[1]["errorMessage"], "Stack [demo] already exists");
        assert_eq!(r[1]["readOnly"], false);
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

    #[test]
    fn in_strict_mode_a_cloudformation_record_that_cannot_be_written_is_reported() {
        let region = Region::parse("us-east-1").expect("region");
        let dir = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink("/dev/full", dir.path().join("us-east-1.jsonl"))
            .expect("symlink");
        let strict = Audit::open(dir.path(), &[region], true).expect("open");
        let described = strict.record_api_call(
            &ctx("us-east-1", None),
            &ApiCall {
                who: &root(),
                source: EventSource::CloudFormation,
                account: "111122223333",
                event: "DescribeStacks",
                read_only: true,
                request_parameters: Value::Null,
                response_elements: Value::Null,
                resources: Value::Null,
                additional_event_data: Value::Null,
                error: None,
                time: Timestamp::from_secs(1.0),
            },
        );
        let e = described.expect_err("strict: a read-only record is written at once");
        assert!(e.to_string().contains("us-east-1"), "{e}");
        assert_eq!(strict.failures(), 1);
    }

    fn write_records(dir: &Path, n: usize) -> Audit {
        let region = Region::parse("us-east-1").expect("Region");
        let audit = Audit::open(dir, &[region], false).expect("open");
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
            let _ = audit.record_call(
                &ctx,
                &who,
                "111122223333",
                event,
                true,
                &input,
                None,
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
