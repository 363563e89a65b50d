//! DescribeStackEvents: a stack's events, newest first.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{page, required};
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let state = cfn.state();
    let stack = state
        .find(ctx.region, name)
        .ok_or_else(|| CfnError::stack_not_found(name))?;
    let events: Vec<Value> = state
        .events
        .get(&stack.stack_id)
        .map(|evs| {
            evs.iter()
                .rev()
                .map(|e| {
                    let mut v = json!({
                        "StackId": e.stack_id,
                        "EventId": e.event_id,
                        "StackName": e.stack_name,
                        "LogicalResourceId": e.logical_id,
                        "ResourceType": e.resource_type,
                        "Timestamp": e.timestamp,
                        "ResourceStatus": e.status,
                    });
                    if let Some(p) = &e.physical_id {
                        v["PhysicalResourceId"] = json!(p);
                    }
                    if let Some(r) = &e.reason {
                        v["ResourceStatusReason"] = json!(r);
                    }
                    if let Some(p) = &e.properties {
                        v["ResourceProperties"] = json!(p);
                    }
                    if let Some(t) = &e.client_request_token {
                        v["ClientRequestToken"] = json!(t);
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    let (items, next) = page(&events, &input, 100)?;
    let mut out = json!({ "StackEvents": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
