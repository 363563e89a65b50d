//! The one way CloudFormation reaches KMS: an operation by name with its JSON input,
//! through the KMS entry point every caller inside the server uses
//! ([`crate::kms::dispatch::invoke`]: validation against the KMS service model, key
//! resolution, key-state check, authorization, audit). Each call is recorded in the
//! Region's audit log as the KMS call it is, with `invokedBy: cloudformation.amazonaws.com`
//! and the access key of the caller whose stack operation it is. Nothing here touches the
//! store or the tokens.

use serde_json::Value;

use crate::domain::region::Region;
use crate::domain::request::{RequestContext, CLOUDFORMATION};
use crate::kms::dispatch;
use crate::kms::error::{ErrorKind, KmsError, Report};
use crate::kms::service::Kms;

/// A KMS call that failed, as a resource's status reason shows it.
#[derive(Debug)]
pub struct KmsFailure {
    pub error: KmsError,
    pub request_id: String,
}

impl KmsFailure {
    /// CloudFormation's handler error code for a KMS error.
    fn handler_code(&self) -> &'static str {
        match self.error.kind {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::LimitExceeded => "ServiceLimitExceeded",
            ErrorKind::Throttling => "Throttling",
            ErrorKind::KmsInternal => "InternalFailure",
            ErrorKind::KmsInvalidState => "ResourceConflict",
            ErrorKind::AccessDenied => "AccessDenied",
            _ => "InvalidRequest",
        }
    }

    /// `Resource handler returned message: "…" (Service: Kms, Status Code: 400, Request
    /// ID: …) (HandlerErrorCode: InvalidRequest)`.
    pub fn reason(&self) -> String {
        format!(
            "Resource handler returned message: \"{}\" (Service: Kms, Status Code: {}, Request ID: {}) (HandlerErrorCode: {})",
            self.error.message,
            self.error.kind.http_status(),
            self.request_id,
            self.handler_code()
        )
    }

    pub fn kind(&self) -> ErrorKind {
        self.error.kind
    }
}

/// Calls KMS on behalf of a stack operation.
pub struct KmsClient<'a> {
    kms: &'a Kms,
    access_key: &'a str,
}

impl<'a> KmsClient<'a> {
    pub fn new(kms: &'a Kms, access_key: &'a str) -> Self {
        KmsClient { kms, access_key }
    }

    pub fn kms(&self) -> &Kms {
        self.kms
    }

    /// Runs `operation` in `region`. An internal error is logged here, once, with the
    /// request id the stack event's reason names.
    pub fn call(&self, region: Region, operation: &str, input: Value) -> Result<Value, KmsFailure> {
        let ctx = RequestContext {
            region,
            // The stack's caller: CloudFormation calls KMS as the caller (strict mode
            // authorizes each call as that principal; open mode: the account's root user).
            access_key: self.access_key.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            source_ip: CLOUDFORMATION.to_string(),
            secure_transport: self.kms.config.edge.tls.is_some(),
            user_agent: CLOUDFORMATION.to_string(),
            invoked_by: Some(CLOUDFORMATION),
        };
        match dispatch::invoke(self.kms, &ctx, operation, input) {
            Ok(out) => Ok(out.body),
            Err(error) => {
                if error.is_internal() {
                    let cause: &(dyn std::error::Error + 'static) =
                        std::error::Error::source(&error).unwrap_or(&error);
                    tracing::error!(
                        request_id = %ctx.request_id,
                        operation,
                        "internal error in a KMS call of CloudFormation: {}",
                        Report(cause)
                    );
                }
                Err(KmsFailure {
                    error,
                    request_id: ctx.request_id,
                })
            }
        }
    }
}
