//! The one way CloudFormation reaches KMS: an operation by name with its JSON input,
//! through the same dispatcher the API uses (`kms::dispatch::dispatch`), recorded in the
//! audit log as the KMS call it is, with `invokedBy: cloudformation.amazonaws.com` and the
//! access key of the caller whose stack operation it is. Nothing here touches the store
//! or the tokens.

use serde_json::Value;

use crate::kms::error::{ErrorKind, KmsError};
use crate::kms::region::Region;
use crate::kms::{dispatch, Kms, RequestContext, CLOUDFORMATION};

/// A KMS call that failed, as a resource's status reason shows it.
#[derive(Debug, Clone)]
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
            ErrorKind::KmsInternal => "InternalFailure",
            ErrorKind::KmsInvalidState => "ResourceConflict",
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

    /// Runs `operation` in `region`.
    pub fn call(&self, region: Region, operation: &str, input: Value) -> Result<Value, KmsFailure> {
        let ctx = RequestContext {
            region,
            access_key: self.access_key.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            source_ip: CLOUDFORMATION.to_string(),
            user_agent: CLOUDFORMATION.to_string(),
            invoked_by: Some(CLOUDFORMATION),
        };
        let audit_input = crate::audit::request_record(&input);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch::dispatch(self.kms, &ctx, operation, input)
        }))
        .unwrap_or_else(|_| Err(KmsError::internal(format!("{operation} panicked"))));
        self.kms.audit.record_call(
            &ctx,
            self.kms.account(),
            operation,
            &audit_input,
            outcome.as_ref().ok().map(|o| &o.body),
            outcome.as_ref().err(),
            self.kms.clock.now(),
        );
        match outcome {
            Ok(out) => Ok(out.body),
            Err(error) => Err(KmsFailure {
                error,
                request_id: ctx.request_id,
            }),
        }
    }
}
