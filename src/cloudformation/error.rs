//! The errors a CloudFormation call can answer, by meaning; [`CfnErrorKind::shape`] names
//! the service model's error shape each one is, and the API layer reads the wire code and
//! HTTP status from the model (`ValidationError`, the one unmodelled error, is a 400
//! `Sender` fault).

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
    /// A ClientRequestToken was reused for a different request.
    TokenAlreadyExists,
    /// Too many stacks.
    LimitExceeded,
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
            CfnErrorKind::TokenAlreadyExists => Some("TokenAlreadyExistsException"),
            CfnErrorKind::LimitExceeded => Some("LimitExceededException"),
            CfnErrorKind::Validation | CfnErrorKind::Internal => None,
        }
    }
}

/// An error answered to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfnError {
    pub kind: CfnErrorKind,
    pub message: String,
}

impl CfnError {
    pub fn new(kind: CfnErrorKind, message: impl Into<String>) -> Self {
        CfnError {
            kind,
            message: message.into(),
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

    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!("cloudformation internal error: {detail}");
        Self::new(
            CfnErrorKind::Internal,
            "An internal error occurred. See the server log.",
        )
    }
}

impl fmt::Display for CfnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CfnError {}

pub type CfnResult<T> = Result<T, CfnError>;
