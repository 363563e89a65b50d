//! The entry point of every KMS operation: [`invoke`] runs an operation by name (the
//! part of `X-Amz-Target` after `TrentService.`) with a JSON request, as a given caller.
//! The HTTP API calls it; so does anything else inside the server that performs KMS
//! operations on a caller's behalf (the web console, CloudFormation), so that every call
//! gets the same validation, key resolution, key-state check, authorization and audit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

use super::error::{ErrorKind, KmsError, KmsResult};
use super::operation::{Entry, Pool};
use super::operations::REGISTRY;
use super::service::Kms;
use super::validate::{InputError, ServiceModel};
use super::wire::Output;
use crate::audit::CallError;
use crate::domain::request::RequestContext;

/// The declaration and entry point of `operation`, if hsm-kms serves it.
pub fn find(operation: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.spec.name == operation)
}

/// Where `operation` runs. An operation hsm-kms does not serve is answered at once and
/// runs anywhere: [`Pool::Short`].
pub fn pool(operation: &str) -> Pool {
    find(operation).map_or(Pool::Short, |e| e.spec.pool)
}

/// Runs `operation` with the JSON request `input` as the caller `ctx` says, and returns
/// the response (or the AWS error). In order:
///
/// - an operation the AWS model does not have: UnknownOperationException;
/// - `input` checked against the model's input shape: ValidationException /
///   SerializationException (these two are not audited, as in AWS);
/// - an operation of the model hsm-kms does not serve yet: UnsupportedOperationException;
/// - otherwise the operation's own sequence (`operation::execute`): typed request, key
///   resolution, key-state check, authorization, the operation itself.
///
/// Every call that got past validation is recorded in the Region's audit log. A panic in
/// an operation is caught and answered with KMSInternalException. Internal errors carry
/// their cause (`std::error::Error::source`); the caller logs them with the request id
/// where it renders the response.
pub fn invoke(kms: &Kms, ctx: &RequestContext, operation: &str, input: Value) -> KmsResult<Output> {
    let model = ServiceModel::get();
    if !model.has_operation(operation) {
        return Err(KmsError::new(
            ErrorKind::UnknownOperation,
            format!("Unknown operation {operation}"),
        ));
    }
    model
        .validate_input(operation, &input)
        .map_err(|e| match e {
            InputError::Validation(m) => KmsError::validation(m),
            InputError::Serialization(m) => KmsError::new(ErrorKind::Serialization, m),
        })?;
    // What the audit record shows of the request (secrets left out), taken before the
    // operation consumes the input and zeroises its blobs.
    let audit_input = crate::audit::request_record(&input);
    let entry = find(operation);
    let outcome = match entry {
        Some(entry) => catch_unwind(AssertUnwindSafe(|| {
            (entry.execute)(kms, ctx, input, &audit_input)
        }))
        .unwrap_or_else(|_| Err(KmsError::internal(format!("{operation} panicked")))),
        None => Err(KmsError::unsupported(format!(
            "hsm-kms does not implement {operation} yet."
        ))),
    };
    kms.audit.record_call(
        ctx,
        kms.account(),
        operation,
        entry.is_some_and(|e| e.spec.read_only),
        &audit_input,
        outcome.as_ref().ok().map(|o| &o.body),
        outcome.as_ref().err().map(|e| CallError {
            code: e.kind.aws_name(),
            message: &e.message,
        }),
        kms.clock.now(),
    );
    outcome
}
