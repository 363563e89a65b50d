//! The entry point of every KMS operation: [`invoke`] runs an operation by name (the
//! part of `X-Amz-Target` after `TrentService.`) with a JSON request, as a given caller.
//! Anything inside the server that performs KMS operations on a caller's behalf (the web
//! console, CloudFormation) calls it; the HTTP API calls its two halves, [`validate`] and
//! [`run`]. Every call gets the same validation, key resolution, key-state check,
//! authorization and audit.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::Value;

use super::error::{ErrorKind, KmsError, KmsResult};
use super::operation::{Entry, Pool, Prepared};
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

/// A request checked against the service model and parsed into its operation's typed
/// request: the only thing [`run`] runs.
pub struct Validated {
    operation: String,
    /// What the audit record shows of the request (secrets left out), taken before the
    /// operation consumes the input and zeroises its blobs.
    audit_input: Value,
    entry: Option<(&'static Entry, Box<dyn Prepared>)>,
}

impl Validated {
    /// Where the operation runs ([`super::operation::Operation::pool`]). One hsm-kms
    /// does not serve is answered at once: [`Pool::Inline`].
    pub fn pool(&self) -> Pool {
        self.entry
            .as_ref()
            .map_or(Pool::Inline, |(_, prepared)| prepared.pool())
    }
}

/// Checks `input` against the service model's input shape of `operation`:
/// UnknownOperationException for an operation the AWS model does not have,
/// ValidationException / SerializationException for a body it does not accept (these
/// are not audited, as in AWS).
pub fn validate(operation: &str, input: Value) -> KmsResult<Validated> {
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
    super::encryption_context::check(&input)?;
    let audit_input = crate::audit::request_record(&input);
    Ok(Validated {
        operation: operation.to_string(),
        audit_input,
        entry: find(operation).map(|entry| (entry, (entry.prepare)(input))),
    })
}

/// Runs a validated request as the caller `ctx` says: an operation of the model that
/// hsm-kms does not serve yet is UnsupportedOperationException; otherwise the
/// operation's own sequence (`operation::execute`: typed request, key resolution,
/// key-state check, authorization, the operation itself). Every call is recorded in the
/// Region's audit log. A panic in an operation is caught and answered with
/// KMSInternalException. Internal errors carry their cause (`std::error::Error::source`);
/// the caller logs them with the request id where it renders the response.
pub fn run(kms: &Kms, ctx: &RequestContext, request: Validated) -> KmsResult<Output> {
    let Validated {
        operation,
        audit_input,
        entry,
    } = request;
    let strict = kms.config.mode == crate::config::Mode::Strict;
    if strict && !kms.audit.writable(ctx.region) {
        // AWS records every call: in strict mode a call that cannot be recorded is not run.
        return Err(KmsError::internal(format!(
            "{operation} refused: the audit log of {} cannot be written",
            ctx.region
        )));
    }
    let read_only = entry.as_ref().is_some_and(|(e, _)| e.spec.read_only);
    let outcome = match entry {
        Some((_, prepared)) => catch_unwind(AssertUnwindSafe(|| {
            prepared.execute(kms, ctx, &audit_input)
        }))
        .unwrap_or_else(|_| Err(KmsError::internal(format!("{operation} panicked")))),
        None => Err(KmsError::unsupported(format!(
            "hsm-kms does not implement {operation} yet."
        ))),
    };
    let recorded = kms.audit.record_call(
        ctx,
        &kms.user_identity(ctx),
        kms.account(),
        &operation,
        read_only,
        &audit_input,
        outcome.as_ref().ok().map(|o| &o.body),
        outcome.as_ref().err().map(|e| CallError {
            code: e.kind.aws_name(),
            message: &e.message,
        }),
        outcome.as_ref().ok().map(|o| &o.audit),
        kms.clock.now(),
    );
    match recorded {
        Err(e) if strict => Err(KmsError::internal(e)),
        _ => outcome,
    }
}

/// Runs `operation` with the JSON request `input` as the caller `ctx` says, and returns
/// the response (or the AWS error): [`validate`], then [`run`]. This is the entry point
/// for callers inside the server (the web console, CloudFormation); the HTTP API calls
/// the two halves itself so that validation runs on the async executor and only the
/// operation on a worker thread.
pub fn invoke(kms: &Kms, ctx: &RequestContext, operation: &str, input: Value) -> KmsResult<Output> {
    run(kms, ctx, validate(operation, input)?)
}
