//! Where a policy is attached ([`PolicyKind`]) and what can be wrong with a document
//! ([`PolicyError`], with the `MalformedPolicyDocumentException` messages AWS gives).

/// Where a policy is attached, which decides the elements it must and may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to an IAM user or role: no `Principal`, needs `Resource`.
    Identity,
    /// A key policy (resource-based): needs `Principal` and `Resource`.
    Key,
    /// A role's trust policy (resource-based, the role is the resource): needs
    /// `Principal`, has no `Resource`.
    Trust,
}

/// What is wrong with a policy document. [`PolicyError::message`] is AWS's wording where
/// AWS's is known; the Display form adds where in the document the fault is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("The policy is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("The policy must be a JSON object.")]
    NotAnObject,
    #[error("Policy document contains an unknown element: {0}")]
    UnknownElement(String),
    #[error("Unsupported policy Version {0}: use \"2012-10-17\" (or \"2008-10-17\").")]
    BadVersion(String),
    #[error("The policy must contain a Statement.")]
    NoStatement,
    #[error("{at}: {problem}")]
    InStatement {
        at: String,
        problem: Box<PolicyError>,
    },
    #[error("Policy statement must contain an Effect of Allow or Deny, not {0}.")]
    BadEffect(String),
    #[error("Policy statement must contain an Effect.")]
    MissingEffect,
    #[error("Policy statement must contain actions.")]
    MissingAction,
    #[error("Policy statement must contain resources.")]
    MissingResource,
    #[error("Policy statement can't contain both {0} and {1}.")]
    Both(&'static str, &'static str),
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    ActionWithoutVendor(String),
    #[error("Actions/Condition can contain only one colon.")]
    ActionWithColons(String),
    #[error("Resource {0} must be in ARN format or \"*\".")]
    BadResource(String),
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    #[error("Has prohibited field Resource")]
    ResourceNotAllowed,
    #[error("Policy contains a statement with no principal.")]
    MissingPrincipal,
    #[error("Policy contains a statement with one or more invalid principals.")]
    InvalidPrincipal(String),
    #[error("Invalid Condition type : {0}")]
    UnknownConditionOperator(String),
    #[error(
        "Condition key {0} must be prefaced by a vendor, e.g. aws:SourceIp or kms:CallerAccount."
    )]
    BadConditionKey(String),
    #[error("Condition value {value} is not valid for {operator}.")]
    BadConditionValue { operator: String, value: String },
    #[error("Invalid policy variable in {0}: write ${{key}} or ${{key, 'default'}}.")]
    BadVariable(String),
    #[error("{0} must be a string or a list of strings.")]
    NotStrings(String),
    #[error("OverlyPermissiveCondition: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified {0} or with an unspecified {0}. To fix, remove ForAllValues.")]
    OverlyPermissive(&'static str),
    #[error("The new key policy will not allow you to update the key policy in the future.")]
    Lockout,
}

impl PolicyError {
    /// AWS's error code for every policy fault.
    pub fn aws_code(&self) -> &'static str {
        "MalformedPolicyDocumentException"
    }

    /// The message as AWS words it: for a fault inside a statement, the fault itself
    /// (AWS does not say where); [`std::fmt::Display`] says where as well.
    pub fn message(&self) -> String {
        match self {
            PolicyError::InStatement { problem, .. } => problem.message(),
            other => other.to_string(),
        }
    }

    pub(super) fn at(self, at: String) -> PolicyError {
        PolicyError::InStatement {
            at,
            problem: Box::new(self),
        }
    }
}
