//! The console's one way into the service. Every page read and every action runs an AWS KMS
//! operation by name through [`call`], which does what the API does for a request: checks the
//! input against the service model, runs the operation through the dispatcher (key-state
//! checks, and the authorization hook once access control lands), and writes the audit
//! record, with the console as the user agent. The console never reads the store or the
//! tokens itself.
//!
//! Merge seam: when the architecture work gives the service one internal entry point that
//! validates, dispatches, authorizes and audits, the body of [`call`] becomes a call to it.

use std::sync::Arc;

use serde_json::Value;

use super::session::Principal;
use crate::api::validate::{InputError, ServiceModel};
use crate::kms::dispatch;
use crate::kms::error::{ErrorKind, KmsError};
use crate::kms::region::Region;
use crate::kms::{Kms, RequestContext};

/// The user agent the console's calls carry (CloudTrail's `userAgent`).
pub const USER_AGENT: &str = "console.amazonaws.com (hsm-kms console)";

/// Who is acting, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub source_ip: String,
}

/// Runs `operation` in `region` as `caller`; returns the operation's JSON response or its
/// AWS error.
pub async fn call(
    kms: &Arc<Kms>,
    caller: &Caller,
    region: Region,
    operation: &str,
    input: Value,
) -> Result<Value, KmsError> {
    if let Err(e) = ServiceModel::get().validate_input(operation, &input) {
        return Err(match e {
            InputError::Validation(m) => KmsError::validation(m),
            InputError::Serialization(m) => KmsError::new(ErrorKind::Serialization, m),
        });
    }
    let ctx = RequestContext {
        region,
        access_key: caller.principal.access_key_id.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        source_ip: caller.source_ip.clone(),
        user_agent: USER_AGENT.to_string(),
    };
    let operation = operation.to_string();
    let audit_input = crate::audit::request_record(&input);
    let kms = kms.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            dispatch::dispatch(&kms, &ctx, &operation, input)
        }))
        .unwrap_or_else(|_| Err(KmsError::internal(format!("{operation} panicked"))));
        kms.audit.record_call(
            &ctx,
            kms.account(),
            &operation,
            &audit_input,
            outcome.as_ref().ok().map(|o| &o.body),
            outcome.as_ref().err(),
            kms.clock.now(),
        );
        outcome.map(|o| o.body.clone())
    })
    .await
    .unwrap_or_else(|_| Err(KmsError::internal("the worker running the request failed")))
}

/// Every page of a paged List operation (`Keys`, `Aliases`, `Tags`, `Rotations`…).
pub async fn list_all(
    kms: &Arc<Kms>,
    caller: &Caller,
    region: Region,
    operation: &str,
    mut input: Value,
    member: &str,
) -> Result<Vec<Value>, KmsError> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = call(kms, caller, region, operation, input.clone()).await?;
        if let Some(items) = page.get(member).and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        let next = page
            .get("NextMarker")
            .and_then(Value::as_str)
            .filter(|_| page.get("Truncated").and_then(Value::as_bool) == Some(true));
        match next {
            Some(marker) => input["Marker"] = Value::String(marker.to_string()),
            None => break,
        }
    }
    Ok(out)
}
