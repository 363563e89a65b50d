//! The errors a CloudFormation call can answer, by meaning; [`CfnErrorKind::shape`] names
//! the service model's error shape each one is, and the API layer reads the wire code and
//! HTTP status from the model (the unmodelled errors: `ValidationError` is a 400 `Sender`
//! fault, strict mode's `AccessDenied` and `InvalidClientTokenId` are 403). An internal fault keeps its cause for the log (the caller logs it once,
//! with the request id) and tells the caller nothing of it.

use std::error::Error;
use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfnErrorKind {
    /// Bad input, a bad template, a stack in the wrong state, "No updates are to be
    /// performed.", a stack that does not exist: AWS answers all of these `ValidationError`.
    Validation,
    /// A stack or change set of that name already exists.
    AlreadyExists,
    /// The change set named does not exist.
    ChangeSetNotFound,
    /// The change set cannot be executed in its status.
    InvalidChangeSetStatus,
    /// Strict mode: the caller's IAM policies do not allow the action (403 `AccessDenied`).
    AccessDenied,
    /// Strict mode: the caller's credentials are unknown or expired (403
    /// `InvalidClientTokenId`).
    InvalidClientTokenId,
    /// An internal fault (detail in the server log).
    Internal,
}

impl CfnErrorKind {
    /// The error shape of the CloudFormation service model, or `None` for
    /// `ValidationError` and internal faults, which the model does not declare.
    pub fn shape(self) -> Option<&'static str> {
        match self {
            CfnErrorKind::AlreadyExists => Some("AlreadyExistsException"),
            CfnErrorKind::ChangeSetNotFound => Some("ChangeSetNotFoundException"),
            CfnErrorKind::InvalidChangeSetStatus => Some("InvalidChangeSetStatusException"),
            CfnErrorKind::Validation
            | CfnErrorKind::AccessDenied
            | CfnErrorKind::InvalidClientTokenId
            | CfnErrorKind::Internal => None,
        }
    }

    /// The error code a caller reads (CloudTrail's `errorCode`): the model's code of the
    /// shape (a unit test of the API layer checks each against the model).
    pub fn code(self) -> &'static str {
        match self {
            CfnErrorKind::Validation => "ValidationError",
            CfnErrorKind::AlreadyExists => "AlreadyExistsException",
            CfnErrorKind::ChangeSetNotFound => "ChangeSetNotFound",
            CfnErrorKind::InvalidChangeSetStatus => "InvalidChangeSetStatus",
            CfnErrorKind::AccessDenied => "AccessDenied",
            CfnErrorKind::InvalidClientTokenId => "InvalidClientTokenId",
            CfnErrorKind::Internal => "InternalFailure",
        }
    }
}

/// An error answered to the caller, and for an internal fault its cause.
#[derive(Debug)]
pub struct CfnError {
    pub kind: CfnErrorKind,
    pub message: String,
    source: Option<Box<dyn Error + Send + Sync + 'static>>,
}

impl CfnError {
    pub fn new(kind: CfnErrorKind, message: impl Into<String>) -> Self {
        CfnError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(CfnErrorKind::Validation, message)
    }

    /// `Template format error: …`
    pub fn template_format(message: impl fmt::Display) -> Self {
        Self::validation(format!("Template format error: {message}"))
    }

    /// `Template error: …` (a template that parses but cannot be evaluated).
    pub fn template(message: impl fmt::Display) -> Self {
        Self::validation(format!("Template error: {message}"))
    }

    pub fn stack_not_found(name: &str) -> Self {
        Self::validation(format!("Stack with id {name} does not exist"))
    }

    /// An internal fault caused by `cause` (an error, or a description of what is
    /// inconsistent). The caller gets a generic message; the cause stays with the error
    /// for the log.
    pub fn internal(cause: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Self {
        CfnError {
            kind: CfnErrorKind::Internal,
            message: "An internal error occurred. See the server log.".to_string(),
            source: Some(cause.into()),
        }
    }

    pub fn is_internal(&self) -> bool {
        self.kind == CfnErrorKind::Internal
    }
}

impl fmt::Display for CfnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl Error for CfnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

pub type CfnResult<T> = Result<T, CfnError>;
