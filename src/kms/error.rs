//! What went wrong in a KMS operation: [`ErrorKind`] says what kind of failure it is (the
//! same classes AWS KMS distinguishes), [`KmsError`] adds the message the caller reads
//! and, for an internal fault, the cause. How an error travels on the wire (its AWS
//! `__type` and HTTP status) is decided in [`super::wire`], not here.

use std::error::Error;
use std::fmt;

use crate::domain::ids::{AliasNameError, KeyRefError};

/// The kind of failure, one per AWS KMS error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller is not allowed the action (key policy, IAM policies, grants).
    AccessDenied,
    /// A resource with this name or id already exists.
    AlreadyExists,
    /// The key is disabled.
    Disabled,
    /// The import token's 24 hours are over.
    ExpiredImportToken,
    /// The ciphertext was made under another key than the one the request names.
    IncorrectKey,
    /// Imported key material is not the key's material.
    IncorrectKeyMaterial,
    /// An alias name the caller may not use.
    InvalidAliasName,
    /// A malformed ARN.
    InvalidArn,
    /// Not a ciphertext of ours, or it does not decrypt (context, tampering).
    InvalidCiphertext,
    /// A grant id that is not one (not 64 hex digits).
    InvalidGrantId,
    /// A grant token that is not one of ours (malformed, altered, or of another Region).
    InvalidGrantToken,
    /// An import token that is not ours for this key and Region.
    InvalidImportToken,
    /// The key's usage, spec or algorithm does not fit the operation.
    InvalidKeyUsage,
    /// A paging marker that is not one of ours.
    InvalidMarker,
    /// A fault of the server, not of the request: the cause is in
    /// [`KmsError`]'s `source()`, the caller gets a generic message.
    KmsInternal,
    /// A MAC that does not verify.
    KmsInvalidMac,
    /// A signature that does not verify.
    KmsInvalidSignature,
    /// The key's state does not allow the operation.
    KmsInvalidState,
    /// A limit (tags, on-demand rotations, …) is reached.
    LimitExceeded,
    /// A key policy that is not a well-formed policy document.
    MalformedPolicyDocument,
    /// The named key, alias or key material does not exist here.
    NotFound,
    /// Tags that break a tagging rule.
    Tag,
    /// Valid, but not something this key (or hsm-kms) can do.
    UnsupportedOperation,
    /// A request value breaks a constraint.
    Validation,
    /// A request body of the wrong shape (not JSON, wrong types).
    Serialization,
    /// An operation the KMS API does not have.
    UnknownOperation,
    /// Another change of the same key is in progress.
    Conflict,
    /// DryRun: every check passed, nothing was done.
    DryRunOperation,
    /// The request is not signed.
    MissingAuthenticationToken,
    /// The request's signature lacks a part.
    IncompleteSignature,
    /// The request is for a Region (or credentials) this server does not serve.
    UnrecognizedClient,
    /// The signature does not match, is outside its time window, or its scope is wrong.
    InvalidSignature,
    /// The session's temporary credentials have expired.
    ExpiredToken,
    /// The server is too busy for the request: retry later (AWS: "Rate exceeded").
    Throttling,
}

/// An error returned to the caller: what kind of failure, a message saying what was wrong,
/// and for an internal fault the cause (logged with the request id where the response is
/// rendered, never sent to the caller).
#[derive(Debug)]
pub struct KmsError {
    pub kind: ErrorKind,
    /// What the caller reads. Empty for the errors AWS sends without any message
    /// ([`KmsError::without_message`]): the response then has no `message` member.
    pub message: String,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl KmsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        KmsError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::KmsInvalidState, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UnsupportedOperation, message)
    }

    /// ThrottlingException with AWS's message.
    pub fn throttled() -> Self {
        Self::new(ErrorKind::Throttling, "Rate exceeded")
    }

    /// An error AWS sends with no message at all (a signature or MAC that does not
    /// verify, a ciphertext that does not decrypt, …): its response has no `message`
    /// member, as AWS's has none.
    pub fn without_message(kind: ErrorKind) -> Self {
        Self::new(kind, "")
    }

    /// DryRunOperationException: every check passed, and the request's DryRun stopped it.
    pub fn dry_run() -> Self {
        Self::new(
            ErrorKind::DryRunOperation,
            "The request would have succeeded, but the DryRun option is set.",
        )
    }

    /// InvalidCiphertextException, which AWS sends without a message.
    pub fn invalid_ciphertext() -> Self {
        Self::without_message(ErrorKind::InvalidCiphertext)
    }

    /// The message the caller reads, if the error has one.
    pub fn message(&self) -> Option<&str> {
        Some(self.message.as_str()).filter(|m| !m.is_empty())
    }

    /// An internal fault caused by `cause` (an error, or a description of what is
    /// inconsistent). The caller gets a generic message; the cause stays with the error
    /// for the log.
    pub fn internal(cause: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        KmsError {
            kind: ErrorKind::KmsInternal,
            message: "The request was rejected because an internal exception occurred. See the server log."
                .to_string(),
            source: Some(cause.into()),
        }
    }

    pub fn is_internal(&self) -> bool {
        self.kind == ErrorKind::KmsInternal
    }
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.aws_name(), self.message)
    }
}

impl Error for KmsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

pub type KmsResult<T> = Result<T, KmsError>;

/// An error and its causes on one line, for a log: `outer: cause: cause of the cause`.
pub struct Report<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// A `KeyId` field that names no key here: NotFoundException with AWS's message.
impl From<KeyRefError> for KmsError {
    fn from(e: KeyRefError) -> Self {
        KmsError::not_found(e.to_string())
    }
}

/// A malformed alias name: ValidationException with AWS's message.
impl From<AliasNameError> for KmsError {
    fn from(e: AliasNameError) -> Self {
        KmsError::validation(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{AliasName, KeyRef};
    use crate::domain::region::Region;

    #[test]
    fn malformed_key_id_is_not_found_with_aws_message() {
        let us = Region::parse("us-east-1").expect("catalogue");
        let e = KmsError::from(KeyRef::parse("fake-key-id", us, "111122223333").unwrap_err());
        assert_eq!(e.kind.aws_name(), "NotFoundException");
        assert_eq!(e.message, "Invalid keyId 'fake-key-id'");
    }

    #[test]
    fn an_internal_error_keeps_its_cause_and_tells_the_caller_nothing_of_it() {
        let cause = std::io::Error::other("disk on fire");
        let e = KmsError::internal(cause);
        assert!(e.is_internal());
        assert!(!e.message.contains("disk"));
        assert_eq!(
            e.source().map(|c| c.to_string()).as_deref(),
            Some("disk on fire")
        );
        assert_eq!(
            Report(&e).to_string(),
            format!("KMSInternalException: {}: disk on fire", e.message)
        );
        let described = KmsError::internal(format!("no token for served Region {}", "x"));
        assert_eq!(
            described.source().map(|c| c.to_string()).as_deref(),
            Some("no token for served Region x")
        );
    }

    #[test]
    fn alias_without_prefix_is_a_validation_error() {
        let e = KmsError::from(AliasName::parse("tour").unwrap_err());
        assert_eq!(e.kind.aws_name(), "ValidationException");
        assert!(e
            .message
            .starts_with("Alias must start with the prefix \"alias/\"."));
    }
}
