//! The entry point of every CloudFormation API call: [`call`] runs an operation by name
//! (the awsQuery `Action`) with its input as JSON, as the caller `ctx` says, and records
//! the call in the Region's audit log as CloudTrail does (`eventSource`
//! `cloudformation.amazonaws.com`; read-only calls buffered, as for KMS; in strict mode a
//! call whose record cannot be written fails, as a KMS call does). Template bodies
//! and parameter values are left out of the record: a template may carry key policies and
//! defaults, a parameter value may be a `NoEcho` secret.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::{CfnError, CfnErrorKind, CfnResult};
use super::operations::registry;
use super::service::CloudFormation;
use crate::audit::{ApiCall, CallError, EventSource};
use crate::domain::request::RequestContext;
use crate::kms::authorization;
use crate::kms::error::ErrorKind;

/// Request members an audit record leaves out (at any depth).
const OMITTED: &[&str] = &["TemplateBody", "ParameterValue"];

/// Runs `operation` with `input` as `ctx` says; every call of an operation hsm-kms serves
/// (or that the model has and hsm-kms does not serve) is audited. A panic in an operation
/// is caught and answered as an internal failure. Internal errors carry their cause; the
/// caller logs them with the request id.
pub fn call(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    operation: &str,
    input: Value,
) -> CfnResult<Value> {
    let request = request_parameters(&input);
    let op = registry::find(operation);
    let kms = &cfn.kms;
    let strict = kms.config.mode == crate::config::Mode::Strict;
    if strict && !kms.audit.writable(ctx.region) {
        // AWS records every call: in strict mode a call that cannot be recorded is not
        // run (as for KMS calls, `kms::dispatch::run`).
        return Err(CfnError::internal(format!(
            "{operation} refused: the audit log of {} cannot be written",
            ctx.region
        )));
    }
    let outcome = match op {
        None => Err(CfnError::new(
            CfnErrorKind::Validation,
            format!(
                "hsm-kms does not implement the CloudFormation action {operation}. Implemented: {}.",
                registry::names().join(", ")
            ),
        )),
        // Strict mode: the caller needs `op.action` (e.g. cloudformation:CreateStack) in an
        // IAM policy, before the operation runs; the KMS permissions of what a template
        // creates are checked by the KMS entry point each resource call goes through, as
        // the caller (the stack keeps the caller's access key).
        Some(op) => authorize(cfn, ctx, op.action, &input).and_then(|()| {
            catch_unwind(AssertUnwindSafe(|| (op.handler)(cfn, ctx, input)))
                .unwrap_or_else(|_| Err(CfnError::internal(format!("{operation} panicked"))))
        }),
    };
    let read_only = op.is_some_and(|o| o.read_only);
    let response = match &outcome {
        Ok(output) if !read_only => response_elements(output),
        _ => Value::Null,
    };
    let recorded = kms.audit.record_api_call(
        ctx,
        &ApiCall {
            who: &kms.user_identity(ctx),
            source: EventSource::CloudFormation,
            account: kms.account(),
            event: operation,
            read_only,
            request_parameters: request,
            response_elements: response,
            resources: Value::Null,
            additional_event_data: Value::Null,
            error: outcome.as_ref().err().map(|e| CallError {
                code: e.kind.code(),
                message: &e.message,
            }),
            time: kms.clock.now(),
        },
    );
    match recorded {
        Err(e) if strict => Err(CfnError::internal(e)),
        _ => outcome,
    }
}

/// Strict mode: whether the caller's IAM policies allow `action` on the stack the request
/// names (its stack id, or `arn:…:stack/<name>/*` for a stack not created yet), on the
/// change set it names by ARN, or on `*`.
fn authorize(
    cfn: &CloudFormation,
    ctx: &RequestContext,
    action: &str,
    input: &Value,
) -> CfnResult<()> {
    let kms = &cfn.kms;
    if !kms.access.is_strict() {
        return Ok(());
    }
    let named = |member: &str| input.get(member).and_then(Value::as_str);
    let resource = if let Some(stack) = named("StackName") {
        match cfn.state().find(ctx.region, stack) {
            Some(record) => record.stack_id.clone(),
            None if stack.starts_with("arn:") => stack.to_string(),
            None => format!(
                "arn:{}:cloudformation:{}:{}:stack/{stack}/*",
                ctx.region.partition().as_str(),
                ctx.region.as_str(),
                kms.account()
            ),
        }
    } else if let Some(change_set) = named("ChangeSetName").filter(|c| c.starts_with("arn:")) {
        change_set.to_string()
    } else {
        "*".to_string()
    };
    authorization::authorize_iam(kms, ctx, action, &resource).map_err(|e| {
        let kind = match e.kind {
            ErrorKind::AccessDenied => CfnErrorKind::AccessDenied,
            _ => CfnErrorKind::InvalidClientTokenId,
        };
        CfnError::new(kind, e.message)
    })
}

/// A member name as CloudTrail writes it: lower camel case (`StackName` → `stackName`).
fn lower_camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The request as CloudTrail's `requestParameters` shows it: every member name in lower
/// camel case, at any depth (CloudFormation's inputs have no maps of user keys), without
/// the [`OMITTED`] members.
fn request_parameters(input: &Value) -> Value {
    match input {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .filter(|(k, _)| !OMITTED.contains(&k.as_str()))
                .map(|(k, v)| (lower_camel(k), request_parameters(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(request_parameters).collect()),
        other => other.clone(),
    }
}

/// The response of a call that changes something, as CloudTrail's `responseElements`
/// shows it (`{"stackId": …}`); `null` when it has no members.
fn response_elements(output: &Value) -> Value {
    match output.as_object() {
        Some(obj) if !obj.is_empty() => request_parameters(output),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_record_shows_no_template_body_and_no_parameter_value() {
        let input = json!({
            "StackName": "demo",
            "TemplateBody": "{\"Resources\": {}}",
            "Parameters": [
                {"ParameterKey": "Password", "ParameterValue": "hunter2"},
                {"ParameterKey": "Name", "UsePreviousValue": true},
            ],
            "Tags": [{"Key": "team", "Value": "payments"}],
        });
        assert_eq!(
            request_parameters(&input),
            json!({
                "stackName": "demo",
                "parameters": [
                    {"parameterKey": "Password"},
                    {"parameterKey": "Name", "usePreviousValue": true},
                ],
                "tags": [{"key": "team", "value": "payments"}],
            })
        );
        assert_eq!(
            response_elements(&json!({"StackId": "arn:aws:cloudformation:x"})),
            json!({"stackId": "arn:aws:cloudformation:x"})
        );
        assert_eq!(response_elements(&json!({})), Value::Null);
    }
}
