//! Request and response plumbing shared by the operations: typed request parsing, base64
//! blobs that zeroise their bytes, encryption contexts, and paging markers.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use zeroize::Zeroizing;

use super::error::{ErrorKind, KmsError, KmsResult};
pub use crate::audit::RecordDetail;
use crate::domain::request::ConditionValues;

/// How each kind of error travels: its AWS error type (the `__type` of a JSON error
/// response, CloudTrail's `errorCode`) and its HTTP status.
impl ErrorKind {
    /// The error type name on the wire.
    pub fn aws_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            AccessDenied => "AccessDeniedException",
            AlreadyExists => "AlreadyExistsException",
            Disabled => "DisabledException",
            ExpiredImportToken => "ExpiredImportTokenException",
            IncorrectKey => "IncorrectKeyException",
            IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            InvalidAliasName => "InvalidAliasNameException",
            InvalidArn => "InvalidArnException",
            InvalidCiphertext => "InvalidCiphertextException",
            InvalidGrantId => "InvalidGrantIdException",
            InvalidGrantToken => "InvalidGrantTokenException",
            InvalidImportToken => "InvalidImportTokenException",
            InvalidKeyUsage => "InvalidKeyUsageException",
            InvalidMarker => "InvalidMarkerException",
            KmsInternal => "KMSInternalException",
            KmsInvalidMac => "KMSInvalidMacException",
            KmsInvalidSignature => "KMSInvalidSignatureException",
            KmsInvalidState => "KMSInvalidStateException",
            LimitExceeded => "LimitExceededException",
            MalformedPolicyDocument => "MalformedPolicyDocumentException",
            NotFound => "NotFoundException",
            Tag => "TagException",
            UnsupportedOperation => "UnsupportedOperationException",
            Validation => "ValidationException",
            Serialization => "SerializationException",
            UnknownOperation => "UnknownOperationException",
            Conflict => "ConflictException",
            DryRunOperation => "DryRunOperationException",
            MissingAuthenticationToken => "MissingAuthenticationTokenException",
            IncompleteSignature => "IncompleteSignatureException",
            UnrecognizedClient => "UnrecognizedClientException",
            InvalidSignature => "InvalidSignatureException",
            ExpiredToken => "ExpiredTokenException",
            Throttling => "ThrottlingException",
        }
    }

    /// HTTP status: 500 for internal faults, 400 for everything the caller did —
    /// DryRunOperationException included: the service model says 412, but AWS answers
    /// 400 (recorded), and clients follow what AWS sends.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::KmsInternal => 500,
            _ => 400,
        }
    }
}

/// The JSON body of an error response: `{"__type": ..., "message": ...}`, and no
/// `message` member for an error AWS sends without one.
pub fn error_body(e: &KmsError) -> Value {
    match e.message() {
        Some(message) => serde_json::json!({"__type": e.kind.aws_name(), "message": message}),
        None => serde_json::json!({"__type": e.kind.aws_name()}),
    }
}

/// Parses a request body into an operation's typed request. The body has already been
/// validated against the service model, so a failure here is a shape the model allows but
/// the operation cannot take.
pub fn parse<T: DeserializeOwned>(input: Value) -> KmsResult<T> {
    serde_json::from_value(input)
        .map_err(|e| KmsError::new(ErrorKind::Serialization, format!("Invalid request: {e}")))
}

/// A base64 blob from a request; its bytes are zeroised when dropped.
pub struct Blob(pub Zeroizing<Vec<u8>>);

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        B64.decode(text.as_bytes())
            .map(|v| Blob(Zeroizing::new(v)))
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

/// Base64 for a response blob.
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Base64 of a secret (a plaintext data key), in a zeroising string.
pub fn b64_secret(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(B64.encode(bytes))
}

/// A response whose one secret member (a plaintext data key, decrypted data or random
/// bytes, base64) is kept out of the JSON `Value` — which does not zeroise — and spliced
/// into the zeroising response buffer only when the response is written.
pub struct Output {
    pub body: serde_json::Value,
    pub secret: Option<(&'static str, Zeroizing<String>)>,
    /// What the call's audit record shows that neither the request nor this response
    /// does (the key a grant token named, a grant id, CloudTrail's response elements).
    pub audit: RecordDetail,
}

impl Output {
    /// A response with a secret member `name` (base64 of `bytes`).
    pub fn with_secret(body: serde_json::Value, name: &'static str, bytes: &[u8]) -> Output {
        Output {
            body,
            secret: Some((name, b64_secret(bytes))),
            audit: RecordDetail::default(),
        }
    }

    /// This response with what its audit record shows besides the request and response.
    pub fn with_audit(mut self, detail: RecordDetail) -> Output {
        self.audit = detail;
        self
    }

    /// The response bytes, in a buffer that is zeroised when dropped, written once: the
    /// JSON of the body is measured first (serialised into a counter, nothing allocated)
    /// and the buffer reserved at its exact final size before anything is written into
    /// it — a buffer that grew would leave a copy of the secret in the freed, unwiped old
    /// allocation, and cost a copy besides.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut counter = Counter(0);
        // Neither writer can fail: a Value always serialises.
        let _ = serde_json::to_writer(&mut counter, &self.body);
        let body_len = counter.0;
        let empty = self.body.as_object().is_none_or(|o| o.is_empty());
        // `{"name":"value",` + the body without its `{` (no comma before a bare `}`).
        let secret_len = self.secret.as_ref().map_or(0, |(name, value)| {
            name.len() + value.len() + if empty { 5 } else { 6 }
        });
        let mut out = Zeroizing::new(Vec::with_capacity(body_len + secret_len));
        match &self.secret {
            None => {
                let _ = serde_json::to_writer(&mut *out, &self.body);
            }
            Some((name, value)) => {
                out.extend_from_slice(b"{\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":\"");
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
                if !empty {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(
                    SkipFirst {
                        out: &mut out,
                        skip: true,
                    },
                    &self.body,
                );
            }
        }
        out
    }
}

/// Counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Appends to `out` what is written to it, without its first byte (the `{` of a JSON
/// object whose members follow a spliced-in first member).
struct SkipFirst<'a> {
    out: &'a mut Vec<u8>,
    skip: bool,
}

impl std::io::Write for SkipFirst<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        if self.skip && !rest.is_empty() {
            rest = &rest[1..];
            self.skip = false;
        }
        self.out.extend_from_slice(rest);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl From<serde_json::Value> for Output {
    fn from(body: serde_json::Value) -> Output {
        Output {
            body,
            secret: None,
            audit: RecordDetail::default(),
        }
    }
}

/// An encryption context, canonically ordered.
pub type EncryptionContext = BTreeMap<String, String>;

/// The condition values of a request with an encryption algorithm and an encryption
/// context: `kms:EncryptionAlgorithm` (SYMMETRIC_DEFAULT unless the request names
/// another), `kms:EncryptionContext:<key>` per pair and `kms:EncryptionContextKeys`.
pub fn encryption_conditions(
    algorithm: Option<&str>,
    context: Option<&EncryptionContext>,
) -> ConditionValues {
    let mut values = ConditionValues::default();
    values.add(
        "kms:EncryptionAlgorithm",
        algorithm.unwrap_or("SYMMETRIC_DEFAULT"),
    );
    for (k, v) in context.into_iter().flatten() {
        values.add(format!("kms:EncryptionContext:{k}"), v.as_str());
        values.add("kms:EncryptionContextKeys", k.as_str());
    }
    values
}

/// `Limit` and `Marker` of the List* operations over items sorted by their string key:
/// the marker is the key of the last item of the previous page, so a page starts after it
/// even if that item has since been deleted.
pub fn page<T>(
    items: impl Iterator<Item = (String, T)>,
    marker: Option<&str>,
    limit: Option<i64>,
) -> (Vec<T>, Option<String>) {
    let limit = limit.unwrap_or(100).clamp(1, 1000) as usize;
    let mut iter = items
        .filter(|(k, _)| marker.is_none_or(|m| k.as_str() > m))
        .peekable();
    let mut out = Vec::new();
    let mut last = None;
    while out.len() < limit {
        match iter.next() {
            Some((k, v)) => {
                last = Some(k);
                out.push(v);
            }
            None => break,
        }
    }
    let next = if iter.peek().is_some() { last } else { None };
    (out, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_is_http_400_as_aws_answers_it() {
        assert_eq!(ErrorKind::DryRunOperation.http_status(), 400);
        assert_eq!(ErrorKind::KmsInternal.http_status(), 500);
    }

    #[test]
    fn an_error_without_a_message_has_no_message_member() {
        let body = error_body(&KmsError::without_message(ErrorKind::KmsInvalidSignature));
        assert_eq!(
            body,
            serde_json::json!({"__type": "KMSInvalidSignatureException"})
        );
        let body = error_body(&KmsError::invalid_ciphertext());
        assert_eq!(
            body,
            serde_json::json!({"__type": "InvalidCiphertextException"})
        );
        let body = error_body(&KmsError::not_found("Invalid keyId 'x'"));
        assert_eq!(
            body,
            serde_json::json!({"__type": "NotFoundException", "message": "Invalid keyId 'x'"})
        );
    }

    #[test]
    fn secret_members_are_spliced_into_valid_json() {
        let out = Output::with_secret(serde_json::json!({"KeyId": "k"}), "Plaintext", b"hi");
        let v: serde_json::Value = serde_json::from_slice(&out.to_bytes()).expect("json");
        assert_eq!(v["Plaintext"], "aGk=");
        assert_eq!(v["KeyId"], "k");
        assert!(out.body.get("Plaintext").is_none());
        let only = Output::with_secret(serde_json::json!({}), "Plaintext", b"x");
        let v: serde_json::Value = serde_json::from_slice(&only.to_bytes()).expect("json");
        assert_eq!(v["Plaintext"], "eA==");
    }

    #[test]
    fn the_response_buffer_is_reserved_once_at_its_final_size() {
        for (body, secret) in [
            (serde_json::json!({}), vec![1u8; 1]),
            (serde_json::json!({"KeyId": "k"}), vec![2u8; 4096]),
            (
                serde_json::json!({"KeyId": "arn", "CiphertextBlob": "x".repeat(300)}),
                vec![3u8; 32],
            ),
        ] {
            let out = Output::with_secret(body, "Plaintext", &secret);
            let bytes = out.to_bytes();
            assert_eq!(bytes.len(), bytes.capacity(), "grew or over-reserved");
        }
    }

    #[test]
    fn encryption_conditions_name_the_algorithm_and_every_context_pair() {
        let mut context = EncryptionContext::new();
        context.insert("purpose".into(), "tour".into());
        context.insert("team".into(), "a".into());
        let v = encryption_conditions(None, Some(&context));
        assert_eq!(v.get("kms:EncryptionAlgorithm"), ["SYMMETRIC_DEFAULT"]);
        assert_eq!(v.get("kms:EncryptionContext:purpose"), ["tour"]);
        assert_eq!(v.get("kms:EncryptionContextKeys"), ["purpose", "team"]);
        let v = encryption_conditions(Some("RSAES_OAEP_SHA_256"), None);
        assert_eq!(v.get("kms:EncryptionAlgorithm"), ["RSAES_OAEP_SHA_256"]);
        assert!(v.get("kms:EncryptionContextKeys").is_empty());
    }

    #[test]
    fn paging_visits_every_item_once() {
        let items: Vec<(String, u32)> = (0..7).map(|i| (format!("k{i}"), i)).collect();
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let (page_items, next) = page(items.clone().into_iter(), marker.as_deref(), Some(3));
            seen.extend(page_items);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }
}
