//! Server-side verification of AWS Signature Version 4 (`Authorization` header form), for
//! the JSON protocols (KMS, CloudTrail) and the form-encoded awsQuery protocol (STS,
//! CloudFormation) alike: the signature covers method, path, query, the signed headers and
//! the SHA-256 of the body, whatever the body's encoding.
//!
//! The checks, in AWS's order: the `Authorization` header's parts
//! (`IncompleteSignature`), the request time against the real clock ±5 minutes, the
//! credential scope (date, Region, service, terminator), the access key
//! (`UnrecognizedClient`) and session token, the signed headers' presence, and finally the
//! signature itself, compared in constant time. Signing keys are cached per (access key,
//! date, Region, service): a request costs two HMACs and two SHA-256 digests.
//!
//! `UNSIGNED-PAYLOAD` is refused: for these services the body carries the request itself,
//! so a signature that does not cover it would let a body be changed in flight.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use parking_lot::Mutex;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::caller::Caller;
use super::principals::Principals;
use super::sessions::Sessions;

/// The allowed difference between a request's `X-Amz-Date` and the real clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const ISO_BASIC: &str = "%Y%m%dT%H%M%SZ";
const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The wire protocol a request came in, which decides the error codes' spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS JSON 1.1 (KMS, CloudTrail): `…Exception` codes.
    Json,
    /// awsQuery (STS, CloudFormation): bare codes (`SignatureDoesNotMatch`).
    Query,
}

/// Why a request's signature was refused. The meaning is here; [`SigError::code`] and
/// [`SigError::http_status`] map it to the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No `Authorization` header.
    #[error("Missing Authentication Token")]
    MissingAuthenticationToken,
    /// A part of the signature is missing or malformed (AWS's wording in the message).
    #[error("{0}")]
    Incomplete(String),
    /// `X-Amz-Date` more than 5 minutes before the real clock.
    #[error("Signature expired: {request} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        request: String,
        earliest: String,
        now: String,
    },
    /// `X-Amz-Date` more than 5 minutes after the real clock.
    #[error("Signature not yet current: {request} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        request: String,
        latest: String,
        now: String,
    },
    /// The credential scope names another date, Region or service (AWS's wording).
    #[error("{0}")]
    Scope(String),
    /// The access key id is unknown, or the session token does not belong to it.
    #[error("The security token included in the request is invalid.")]
    UnknownAccessKey,
    /// The session's credentials have expired.
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// `x-amz-content-sha256` is not the body's digest (or is `UNSIGNED-PAYLOAD`).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    /// The signature does not match.
    #[error("{}", MISMATCH)]
    SignatureMismatch,
}

impl SigError {
    /// The error code as the protocol spells it.
    pub fn code(&self, protocol: Protocol) -> &'static str {
        use Protocol::*;
        match (self, protocol) {
            (SigError::MissingAuthenticationToken, Json) => "MissingAuthenticationTokenException",
            (SigError::MissingAuthenticationToken, Query) => "MissingAuthenticationToken",
            (SigError::Incomplete(_), Json) => "IncompleteSignatureException",
            (SigError::Incomplete(_), Query) => "IncompleteSignature",
            (SigError::UnknownAccessKey, Json) => "UnrecognizedClientException",
            (SigError::UnknownAccessKey, Query) => "InvalidClientTokenId",
            (SigError::ExpiredToken, Json) => "ExpiredTokenException",
            (SigError::ExpiredToken, Query) => "ExpiredToken",
            (
                SigError::Expired { .. }
                | SigError::NotYetCurrent { .. }
                | SigError::Scope(_)
                | SigError::ContentSha256Mismatch
                | SigError::SignatureMismatch,
                Json,
            ) => "InvalidSignatureException",
            (_, Query) => "SignatureDoesNotMatch",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(&self, protocol: Protocol) -> u16 {
        match (self, protocol) {
            (_, Protocol::Json) => 400,
            (SigError::Incomplete(_), Protocol::Query) => 400,
            (_, Protocol::Query) => 403,
        }
    }
}

/// The parts of an HTTP request the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as received (still percent-encoded).
    pub path: &'a str,
    /// The raw query string without `?` (empty when none).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    pub caller: Caller,
    /// The Region from the credential scope.
    pub region: String,
    /// The signing date (`YYYYMMDD`).
    pub date: String,
}

/// The credential scope text (`key/date/Region/service/aws4_request`).
type ScopeKey = String;

/// Checks signatures against the principals file and the issued sessions.
#[derive(Debug)]
pub struct Verifier {
    principals: Arc<Principals>,
    sessions: Arc<Sessions>,
    keys: Mutex<HashMap<ScopeKey, aws_lc_rs::hmac::Key>>,
}

/// At most this many cached signing keys (one per key, day, Region and service in use).
const KEY_CACHE_LIMIT: usize = 4096;

/// The `Authorization` header's three parameters.
struct AuthHeader<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl Verifier {
    pub fn new(principals: Arc<Principals>, sessions: Arc<Sessions>) -> Verifier {
        Verifier {
            principals,
            sessions,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies a request for `service` (`kms`, `sts`, `cloudformation`, `cloudtrail`).
    /// `region_served` says whether a Region in the credential scope is one this server
    /// answers for; `real_now` is the real clock (not the server's adjustable clock),
    /// `server_now` the server clock sessions expire on.
    pub fn verify(
        &self,
        req: &SignedRequest,
        service: &str,
        region_served: &dyn Fn(&str) -> bool,
        real_now: DateTime<Utc>,
        server_now: f64,
    ) -> Result<Verified, SigError> {
        let authorization =
            header(req.headers, "authorization").ok_or(SigError::MissingAuthenticationToken)?;
        let amz_date = header(req.headers, "x-amz-date");
        let auth = parse_authorization(authorization, amz_date.is_some())?;
        let amz_date = amz_date.unwrap_or_default();
        let request_time = parse_amz_date(amz_date).ok_or_else(|| {
                SigError::Incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
            })?;
        let scope: Vec<&str> = auth.credential.split('/').collect();
        if scope.len() != 5 {
            return Err(SigError::Incomplete(format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
                auth.credential
            )));
        }
        let signed: Vec<&str> = auth.signed_headers.split(';').collect();
        if !signed.contains(&"host") {
            return Err(SigError::Incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            ));
        }
        if !signed.contains(&"x-amz-date") {
            return Err(SigError::Incomplete(
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.".into(),
            ));
        }

        check_skew(request_time, real_now)?;

        let (access_key_id, date, region, scope_service, terminator) =
            (scope[0], scope[1], scope[2], scope[3], scope[4]);
        let mut faults = Vec::new();
        if !region_served(region) {
            faults.push(format!(
                "Credential should be scoped to a valid region, not '{region}'. "
            ));
        }
        if scope_service != service {
            faults.push(format!(
                "Credential should be scoped to correct service: '{service}'. "
            ));
        }
        if terminator != TERMINATOR {
            faults.push(format!(
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
            ));
        }
        // A parsed x-amz-date is ASCII, its first 8 characters the date.
        let expected_date = &amz_date[..8];
        if date != expected_date {
            faults.push(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{expected_date}', from '{amz_date}'."
            ));
        }
        if !faults.is_empty() {
            return Err(SigError::Scope(faults.concat().trim_end().to_string()));
        }

        let token = header(req.headers, "x-amz-security-token");
        let caller = self.credentials(access_key_id, token, server_now)?;

        let mut canonical = String::with_capacity(256);
        canonical.push_str(req.method);
        canonical.push('\n');
        canonical.push_str(&canonical_uri(req.path));
        canonical.push('\n');
        canonical.push_str(&canonical_query(req.query));
        canonical.push('\n');
        for name in &signed {
            let values: Vec<&str> = req
                .headers
                .get_all(*name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if values.is_empty() {
                return Err(SigError::Incomplete(format!(
                    "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
                )));
            }
            canonical.push_str(name);
            canonical.push(':');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    canonical.push(',');
                }
                canonical.push_str(&collapse_spaces(v));
            }
            canonical.push('\n');
        }
        canonical.push('\n');
        canonical.push_str(auth.signed_headers);
        canonical.push('\n');
        let body_hash = hex::encode(sha256(req.body));
        if let Some(claimed) = header(req.headers, "x-amz-content-sha256") {
            if claimed != body_hash {
                return Err(SigError::ContentSha256Mismatch);
            }
        }
        canonical.push_str(&body_hash);

        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{date}/{region}/{scope_service}/{TERMINATOR}\n{}",
            hex::encode(sha256(canonical.as_bytes()))
        );
        let key = self.signing_key(auth.credential, &caller, date, region, scope_service);
        let expected = aws_lc_rs::hmac::sign(&key, string_to_sign.as_bytes());
        let expected = expected.as_ref();
        let provided = hex::decode(auth.signature).map_err(|_| SigError::SignatureMismatch)?;
        if provided.len() != expected.len() || !bool::from(expected.ct_eq(provided.as_slice())) {
            return Err(SigError::SignatureMismatch);
        }
        Ok(Verified {
            caller,
            region: region.to_string(),
            date: date.to_string(),
        })
    }

    /// The caller and secret key an access key id stands for.
    fn credentials(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        server_now: f64,
    ) -> Result<Caller, SigError> {
        if let Some((identity, _)) = self.principals.by_access_key(access_key_id) {
            if token.is_some() {
                // Permanent credentials carry no session token.
                return Err(SigError::UnknownAccessKey);
            }
            return Ok(Caller::new(identity.clone(), access_key_id));
        }
        let session = self
            .sessions
            .find(access_key_id, token, &self.principals)
            .ok_or(SigError::UnknownAccessKey)?;
        let given = token.ok_or(SigError::UnknownAccessKey)?;
        let expected = session.token.expose().as_bytes();
        if given.len() != expected.len() || !bool::from(given.as_bytes().ct_eq(expected)) {
            return Err(SigError::UnknownAccessKey);
        }
        if session.expiration <= server_now {
            return Err(SigError::ExpiredToken);
        }
        Ok(Caller::from_session(session))
    }

    /// kSigning for a credential scope (`key/date/Region/service/aws4_request`), derived
    /// once and cached under the scope text as a ready HMAC key (its padded inner and
    /// outer states computed once, not for every request). Access key ids are unique, and a key's
    /// secret never changes while the server runs, so the scope names one signing key.
    fn signing_key(
        &self,
        credential: &str,
        caller: &Caller,
        date: &str,
        region: &str,
        service: &str,
    ) -> aws_lc_rs::hmac::Key {
        if let Some(k) = self.keys.lock().get(credential) {
            return k.clone();
        }
        let secret = match &caller.session {
            Some(s) => s.secret.expose(),
            None => self
                .principals
                .by_access_key(&caller.access_key_id)
                .map(|(_, s)| s.expose())
                .unwrap_or_default(),
        };
        let key = aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            derive_signing_key(secret, date, region, service).as_ref(),
        );
        let mut keys = self.keys.lock();
        if keys.len() >= KEY_CACHE_LIMIT {
            keys.clear();
        }
        keys.insert(credential.to_string(), key.clone());
        key
    }

    /// How many signing keys are cached (for tests).
    pub fn cached_keys(&self) -> usize {
        self.keys.lock().len()
    }
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
pub fn derive_signing_key(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
) -> Zeroizing<[u8; 32]> {
    let seed = Zeroizing::new(format!("AWS4{secret}"));
    let mut k = hmac(seed.as_bytes(), date.as_bytes());
    for part in [region, service, TERMINATOR] {
        k = hmac(k.as_ref(), part.as_bytes());
    }
    k
}

/// HMAC-SHA256 and SHA-256 of every signed request come from AWS-LC (already linked for
/// TLS): its assembly runs SHA-256 faster than the portable Rust code on processors
/// without SHA extensions, and a strict-mode request hashes its body, its canonical form
/// and its string to sign.
fn hmac(key: &[u8], data: &[u8]) -> Zeroizing<[u8; 32]> {
    use aws_lc_rs::hmac;
    let mut out = Zeroizing::new([0u8; 32]);
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    out.copy_from_slice(tag.as_ref());
    out
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Splits `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, with AWS's
/// messages for what is missing.
fn parse_authorization(h: &str, has_date: bool) -> Result<AuthHeader<'_>, SigError> {
    let trimmed = h.trim();
    let (algorithm, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
    if algorithm != ALGORITHM {
        return Err(SigError::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(SigError::Incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{h}'."
            )));
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed_headers = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let mut missing = String::new();
    if credential.is_none() {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed_headers.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if !has_date {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    match (credential, signed_headers, signature) {
        (Some(credential), Some(signed_headers), Some(signature)) if missing.is_empty() => {
            Ok(AuthHeader {
                credential,
                signed_headers,
                signature,
            })
        }
        _ => Err(SigError::Incomplete(format!("{missing}Authorization={h}"))),
    }
}

/// `YYYYMMDDTHHMMSSZ`, exactly.
fn parse_amz_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(4, 6)?, num(6, 8)?)?;
    let time = date.and_hms_opt(num(9, 11)?, num(11, 13)?, num(13, 15)?)?;
    Some(time.and_utc())
}

fn check_skew(request: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), SigError> {
    let skew = chrono::Duration::seconds(MAX_SKEW_SECONDS);
    let fmt = |t: DateTime<Utc>| t.format(ISO_BASIC).to_string();
    if request < now - skew {
        return Err(SigError::Expired {
            request: fmt(request),
            earliest: fmt(now - skew),
            now: fmt(now),
        });
    }
    if request > now + skew {
        return Err(SigError::NotYetCurrent {
            request: fmt(request),
            latest: fmt(now + skew),
            now: fmt(now),
        });
    }
    Ok(())
}

/// Trims a header value and collapses runs of spaces into one.
fn collapse_spaces(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut space = false;
    for c in v.trim().chars() {
        if c == ' ' || c == '\t' {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// Percent-encodes everything but the unreserved characters (and `/` when asked).
fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Vec<u8> {
    fn hex_digit(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_digit(b[i + 1]), hex_digit(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The canonical URI for services other than S3: dot segments removed, then every
/// segment of the (already encoded) path encoded once more.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() || path == "/" {
        return "/".into();
    }
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut joined = segments.join("/");
    if !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    uri_encode(joined.as_bytes(), true)
}

/// The canonical query: each name and value decoded then strictly encoded, sorted.
fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;

    use super::*;

    const ALICE_KEY: &str = "AKIAALICE00000000001";
    const ALICE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const T0: u64 = 1_790_000_000; // 2026-09-21T14:13:20Z
    const KMS_BODY: &[u8] = br#"{"KeyId":"alias/x","Plaintext":"aGVsbG8="}"#;
    const STS_BODY: &[u8] = b"Action=GetCallerIdentity&Version=2011-06-15";

    fn principals() -> Arc<Principals> {
        let text = format!(
            r#"
[accounts.111122223333]
[users.alice]
account = "111122223333"
[[users.alice.access_keys]]
id = "{ALICE_KEY}"
secret = "{ALICE_SECRET}"
[roles.app]
account = "111122223333"
trust_policy = '{{"Statement":{{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"sts:AssumeRole"}}}}'
"#
        );
        Arc::new(Principals::parse(&text, std::path::Path::new("."), "p.toml").expect("principals"))
    }

    fn verifier() -> (Verifier, Arc<Principals>, Arc<Sessions>) {
        let p = principals();
        let s = Arc::new(Sessions::for_tests());
        (Verifier::new(p.clone(), s.clone()), p, s)
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn utc(t: SystemTime) -> DateTime<Utc> {
        DateTime::<Utc>::from(t)
    }

    struct Signing<'a> {
        method: &'a str,
        uri: &'a str,
        headers: Vec<(&'a str, &'a str)>,
        body: &'a [u8],
        key: &'a str,
        secret: &'a str,
        token: Option<&'a str>,
        region: &'a str,
        service: &'a str,
        time: SystemTime,
        sha256_header: bool,
    }

    fn kms(body: &'static [u8]) -> Signing<'static> {
        Signing {
            method: "POST",
            uri: "http://localhost:4599/",
            headers: vec![
                ("host", "localhost:4599"),
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "TrentService.Encrypt"),
            ],
            body,
            key: ALICE_KEY,
            secret: ALICE_SECRET,
            token: None,
            region: "us-east-1",
            service: "kms",
            time: at(T0),
            sha256_header: false,
        }
    }

    /// Signs with the aws-sigv4 crate (what every AWS SDK for Rust does) and returns the
    /// headers as they reach the server.
    fn sign_headers(s: &Signing) -> HeaderMap {
        let identity =
            Credentials::new(s.key, s.secret, s.token.map(str::to_string), None, "test").into();
        let mut settings = SigningSettings::default();
        if s.sha256_header {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(s.region)
            .name(s.service)
            .time(s.time)
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let signable = SignableRequest::new(
            s.method,
            s.uri,
            s.headers.iter().copied(),
            SignableBody::Bytes(s.body),
        )
        .expect("signable");
        let (instructions, _) = sign(signable, &params).expect("signs").into_parts();
        let mut builder = http::Request::builder().method(s.method).uri(s.uri);
        for (k, v) in &s.headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder.body(()).expect("request");
        instructions.apply_to_request_http1x(&mut request);
        request.headers().clone()
    }

    fn served(r: &str) -> bool {
        ["us-east-1", "eu-west-1"].contains(&r)
    }

    fn check(
        v: &Verifier,
        s: &Signing,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
        server_now: f64,
    ) -> Result<Verified, SigError> {
        let uri: http::Uri = s.uri.parse().expect("uri");
        let req = SignedRequest {
            method: s.method,
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            headers,
            body,
        };
        v.verify(&req, s.service, &served, utc(now), server_now)
    }

    fn verify(v: &Verifier, s: &Signing) -> Result<Verified, SigError> {
        check(v, s, &sign_headers(s), s.body, s.time, T0 as f64)
    }

    #[test]
    fn a_json_request_signed_by_the_sdk_verifies_and_names_the_caller() {
        let (v, _, _) = verifier();
        let ok = verify(&v, &kms(KMS_BODY)).expect("verifies");
        assert_eq!(ok.caller.arn(), "arn:aws:iam::111122223333:user/alice");
        assert_eq!(ok.region, "us-east-1");
        assert_eq!(ok.date, "20260921");
    }

    #[test]
    fn a_form_encoded_query_request_verifies_for_its_service() {
        let (v, _, _) = verifier();
        let mut s = kms(STS_BODY);
        s.service = "sts";
        s.headers = vec![
            ("host", "localhost:4599"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ];
        let headers = sign_headers(&s);
        let uri: http::Uri = s.uri.parse().expect("uri");
        let req = SignedRequest {
            method: "POST",
            path: uri.path(),
            query: "",
            headers: &headers,
            body: STS_BODY,
        };
        v.verify(&req, "sts", &served, utc(s.time), T0 as f64)
            .expect("verifies as sts");
        let e = v
            .verify(&req, "kms", &served, utc(s.time), T0 as f64)
            .expect_err("not for kms");
        assert_eq!(
            e.to_string(),
            "Credential should be scoped to correct service: 'kms'."
        );
        assert_eq!(e.code(Protocol::Query), "SignatureDoesNotMatch");
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let (v, _, _) = verifier();
        let s = kms(KMS_BODY);
        let headers = sign_headers(&s);
        let tampered = br#"{"KeyId":"alias/y","Plaintext":"aGVsbG8="}"#;
        let e = check(&v, &s, &headers, tampered, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e, SigError::SignatureMismatch);
        assert_eq!(e.code(Protocol::Json), "InvalidSignatureException");
        assert_eq!(e.to_string(), MISMATCH);
    }

    #[test]
    fn a_tampered_signed_header_is_refused() {
        let (v, _, _) = verifier();
        let s = kms(KMS_BODY);
        let mut headers = sign_headers(&s);
        headers.insert(
            "x-amz-target",
            "TrentService.Decrypt".parse().expect("value"),
        );
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e, SigError::SignatureMismatch);
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let (v, _, _) = verifier();
        let mut s = kms(KMS_BODY);
        s.secret = "not-the-secret";
        assert_eq!(
            verify(&v, &s).expect_err("refused"),
            SigError::SignatureMismatch
        );
    }

    #[test]
    fn an_unknown_access_key_is_unrecognized() {
        let (v, _, _) = verifier();
        let mut s = kms(KMS_BODY);
        s.key = "AKIANOBODY0000000001";
        let e = verify(&v, &s).expect_err("refused");
        assert_eq!(e, SigError::UnknownAccessKey);
        assert_eq!(e.code(Protocol::Json), "UnrecognizedClientException");
        assert_eq!(e.code(Protocol::Query), "InvalidClientTokenId");
        assert_eq!(
            e.to_string(),
            "The security token included in the request is invalid."
        );
    }

    #[test]
    fn a_request_older_than_five_minutes_has_expired() {
        let (v, _, _) = verifier();
        let s = kms(KMS_BODY);
        let headers = sign_headers(&s);
        check(&v, &s, &headers, s.body, at(T0 + 299), T0 as f64).expect("within the window");
        let e =
            check(&v, &s, &headers, s.body, at(T0 + 301), T0 as f64).expect_err("replayed late");
        assert_eq!(
            e.to_string(),
            "Signature expired: 20260921T141320Z is now earlier than 20260921T141321Z (20260921T141821Z - 5 min.)"
        );
        assert_eq!(e.code(Protocol::Json), "InvalidSignatureException");
    }

    #[test]
    fn a_request_from_more_than_five_minutes_ahead_is_not_yet_current() {
        let (v, _, _) = verifier();
        let s = kms(KMS_BODY);
        let headers = sign_headers(&s);
        let e = check(&v, &s, &headers, s.body, at(T0 - 301), T0 as f64).expect_err("future");
        assert_eq!(
            e.to_string(),
            "Signature not yet current: 20260921T141320Z is still later than 20260921T141319Z (20260921T140819Z + 5 min.)"
        );
    }

    #[test]
    fn the_scope_must_name_a_served_region_and_the_request_date() {
        let (v, _, _) = verifier();
        let mut s = kms(KMS_BODY);
        s.region = "mars-north-1";
        let e = verify(&v, &s).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "Credential should be scoped to a valid region, not 'mars-north-1'."
        );
        // Signed just before midnight, sent with a date after it: the scope's date is stale.
        let mut s = kms(KMS_BODY);
        s.time = at(1_790_035_190); // 2026-09-21T23:59:50Z
        let mut headers = sign_headers(&s);
        headers.insert("x-amz-date", "20260922T000010Z".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert!(e.to_string().starts_with(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260921' != '20260922'"
        ), "{e}");
    }

    #[test]
    fn missing_parts_are_incomplete_with_aws_wording() {
        let (v, _, _) = verifier();
        let s = kms(KMS_BODY);
        let mut headers = sign_headers(&s);
        headers.remove("authorization");
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e, SigError::MissingAuthenticationToken);
        assert_eq!(
            e.code(Protocol::Json),
            "MissingAuthenticationTokenException"
        );

        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260921/us-east-1/kms/aws4_request"
                .parse()
                .expect("value"),
        );
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e.code(Protocol::Json), "IncompleteSignatureException");
        assert!(e.to_string().starts_with("Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="), "{e}");

        headers.remove("x-amz-date");
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert!(e.to_string().contains("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."), "{e}");

        headers.insert("x-amz-date", "2026-09-21T14:13:20Z".parse().expect("value"));
        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260921/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e.to_string(), "Date must be in ISO-8601 'basic format'. Got '2026-09-21T14:13:20Z'. See http://en.wikipedia.org/wiki/ISO_8601");

        headers.insert("x-amz-date", "20260921T141320Z".parse().expect("value"));
        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260921/us-east-1/kms/aws4_request, SignedHeaders=x-amz-date, Signature=00".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        );

        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260921/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert!(
            e.to_string()
                .contains("'X-Amz-Date' must be a 'SignedHeader'"),
            "{e}"
        );

        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("Credential must have exactly 5 slash-delimited elements"),
            "{e}"
        );

        headers.insert("authorization", "AWS4-HMAC-SHA256 Credential=AKIAALICE00000000001/20260921/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date;x-missing, Signature=00".parse().expect("value"));
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "'x-missing' is named as a SignedHeader, but it does not exist in the HTTP request."
        );

        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA512 Credential=x".parse().expect("value"),
        );
        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"
        );
    }

    #[test]
    fn a_matching_content_sha256_header_is_accepted_and_unsigned_payload_is_not() {
        let (v, _, _) = verifier();
        let mut s = kms(KMS_BODY);
        s.sha256_header = true;
        let headers = sign_headers(&s);
        assert!(headers.contains_key("x-amz-content-sha256"));
        check(&v, &s, &headers, s.body, s.time, T0 as f64).expect("verifies");
        let mut unsigned = headers.clone();
        unsigned.insert(
            "x-amz-content-sha256",
            "UNSIGNED-PAYLOAD".parse().expect("value"),
        );
        let e = check(&v, &s, &unsigned, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e, SigError::ContentSha256Mismatch);
    }

    #[test]
    fn session_credentials_need_their_token_and_expire_on_the_server_clock() {
        let (v, p, sessions) = verifier();
        let role = p
            .by_arn("arn:aws:iam::111122223333:role/app")
            .expect("role")
            .clone();
        let session = sessions
            .issue(
                role,
                "s1",
                "arn:aws:iam::111122223333:user/alice",
                900,
                T0 as f64,
            )
            .expect("issued");
        let mut s = kms(KMS_BODY);
        s.key = &session.access_key_id;
        s.secret = session.secret.expose();
        s.token = Some(session.token.expose());
        let headers = sign_headers(&s);
        let ok = check(&v, &s, &headers, s.body, s.time, T0 as f64).expect("verifies");
        assert_eq!(
            ok.caller.arn(),
            "arn:aws:sts::111122223333:assumed-role/app/s1"
        );
        assert_eq!(ok.caller.principal_type(), "AssumedRole");

        let e = check(&v, &s, &headers, s.body, s.time, T0 as f64 + 900.0).expect_err("expired");
        assert_eq!(e, SigError::ExpiredToken);
        assert_eq!(
            e.to_string(),
            "The security token included in the request is expired"
        );

        let mut no_token = headers.clone();
        no_token.remove("x-amz-security-token");
        let e = check(&v, &s, &no_token, s.body, s.time, T0 as f64).expect_err("refused");
        assert_eq!(e, SigError::UnknownAccessKey);

        let mut s2 = kms(KMS_BODY);
        s2.key = &session.access_key_id;
        s2.secret = session.secret.expose();
        s2.token = Some("forged-token");
        let e = verify(&v, &s2).expect_err("refused");
        assert_eq!(e, SigError::UnknownAccessKey);

        // A permanent key used with a session token is refused too.
        let mut s3 = kms(KMS_BODY);
        s3.token = Some("some-token");
        assert_eq!(
            verify(&v, &s3).expect_err("refused"),
            SigError::UnknownAccessKey
        );
    }

    #[test]
    fn signing_keys_are_derived_once_per_key_day_region_and_service() {
        let (v, _, _) = verifier();
        verify(&v, &kms(KMS_BODY)).expect("verifies");
        let mut s = kms(br#"{"KeyId":"alias/z","Plaintext":"aGk="}"#);
        s.time = at(T0 + 60);
        check(&v, &s, &sign_headers(&s), s.body, s.time, T0 as f64).expect("verifies");
        assert_eq!(v.cached_keys(), 1);
        let mut s = kms(KMS_BODY);
        s.region = "eu-west-1";
        verify(&v, &s).expect("verifies");
        assert_eq!(v.cached_keys(), 2);
    }

    #[test]
    fn paths_and_query_strings_are_canonicalised_as_the_sdk_does() {
        let (v, _, _) = verifier();
        let mut s = kms(b"");
        s.method = "GET";
        s.uri = "http://localhost:4599/some%20path/./x/../y?b=2&a=1&c=a%20b&d=%2F";
        verify(&v, &s).expect("verifies");
    }

    #[test]
    fn the_signing_key_is_the_documented_derivation() {
        // The example from AWS's SigV4 documentation.
        let k = derive_signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(k.as_ref()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }
}
