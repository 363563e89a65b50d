//! The errors a KMS operation can return, named exactly as AWS names them on the wire.

use std::fmt;

use crate::domain::ids::{AliasNameError, KeyRefError};

/// AWS KMS error types (the `__type` of a JSON error response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    AlreadyExists,
    Disabled,
    ExpiredImportToken,
    IncorrectKey,
    IncorrectKeyMaterial,
    InvalidAliasName,
    InvalidArn,
    InvalidCiphertext,
    InvalidGrantToken,
    InvalidImportToken,
    InvalidKeyUsage,
    InvalidMarker,
    KmsInternal,
    KmsInvalidMac,
    KmsInvalidSignature,
    KmsInvalidState,
    LimitExceeded,
    MalformedPolicyDocument,
    NotFound,
    Tag,
    UnsupportedOperation,
    Validation,
    Serialization,
    UnknownOperation,
    Conflict,
    DryRunOperation,
    MissingAuthenticationToken,
    IncompleteSignature,
    UnrecognizedClient,
}

impl ErrorKind {
    /// The error type name on the wire.
    pub fn aws_name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            AlreadyExists => "AlreadyExistsException",
            Disabled => "DisabledException",
            ExpiredImportToken => "ExpiredImportTokenException",
            IncorrectKey => "IncorrectKeyException",
            IncorrectKeyMaterial => "IncorrectKeyMaterialException",
            InvalidAliasName => "InvalidAliasNameException",
            InvalidArn => "InvalidArnException",
            InvalidCiphertext => "InvalidCiphertextException",
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
        }
    }

    /// HTTP status: 500 for internal faults, 400 for everything the caller did.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::KmsInternal => 500,
            ErrorKind::DryRunOperation => 412,
            _ => 400,
        }
    }
}

/// An error returned to the caller: its AWS type and a message saying what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsError {
    pub kind: ErrorKind,
    pub message: String,
}

impl KmsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        KmsError {
            kind,
            message: message.into(),
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

    /// AWS gives InvalidCiphertextException an empty message.
    pub fn invalid_ciphertext() -> Self {
        Self::new(ErrorKind::InvalidCiphertext, "")
    }

    /// An internal fault. The detail goes to the log; the caller gets a generic message.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!("internal error: {detail}");
        Self::new(
            ErrorKind::KmsInternal,
            "The request was rejected because an internal exception occurred. See the server log.",
        )
    }
}

impl fmt::Display for KmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.aws_name(), self.message)
    }
}

impl std::error::Error for KmsError {}

pub type KmsResult<T> = Result<T, KmsError>;

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
    fn alias_without_prefix_is_a_validation_error() {
        let e = KmsError::from(AliasName::parse("tour").unwrap_err());
        assert_eq!(e.kind.aws_name(), "ValidationException");
        assert!(e
            .message
            .starts_with("Alias must start with the prefix \"alias/\"."));
    }
}
