//! The console's one way into the service. Every page read and every action runs an AWS KMS
//! operation by name through [`call`], which hands it to the KMS entry point every caller
//! inside the server uses ([`crate::kms::dispatch::invoke`]: validation against the service
//! model, key resolution, key-state checks, the authorization hook, the audit record), with
//! the console as the user agent. The console never reads the store or the tokens itself.

use std::sync::Arc;

use serde_json::Value;

use super::session::Principal;
use crate::domain::region::Region;
use crate::domain::request::RequestContext;
use crate::kms::dispatch;
use crate::kms::error::{KmsError, Report};
use crate::kms::service::Kms;

/// The user agent the console's calls carry (CloudTrail's `userAgent`).
pub const USER_AGENT: &str = "console.amazonaws.com (hsm-kms console)";

/// Who is acting, and from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub source_ip: String,
}

/// Runs `operation` in `region` as `caller` off the async executor; returns the
/// operation's JSON response or its AWS error. An internal error is logged here, once,
/// with the request id (the page shows only the generic message).
pub async fn call(
    kms: &Arc<Kms>,
    caller: &Caller,
    region: Region,
    operation: &str,
    input: Value,
) -> Result<Value, KmsError> {
    let ctx = RequestContext {
        region,
        access_key: caller.principal.access_key_id.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
        source_ip: caller.source_ip.clone(),
        secure_transport: kms.config.edge.tls.is_some(),
        user_agent: USER_AGENT.to_string(),
        invoked_by: None,
    };
    let operation = operation.to_string();
    let kms = kms.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        dispatch::invoke(&kms, &ctx, &operation, input)
            .map(|out| out.body)
            .inspect_err(|e| {
                if e.is_internal() {
                    let cause: &(dyn std::error::Error + 'static) =
                        std::error::Error::source(e).unwrap_or(e);
                    tracing::error!(
                        request_id = %ctx.request_id,
                        operation,
                        "internal error in a console call: {}",
                        Report(cause)
                    );
                }
            })
    })
    .await;
    outcome.unwrap_or_else(|e| {
        tracing::error!("the worker running a console call failed: {e}");
        Err(KmsError::internal(e))
    })
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
