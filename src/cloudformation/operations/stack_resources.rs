//! DescribeStackResource, DescribeStackResources (by stack, or by a physical resource
//! id), ListStackResources.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{page, required, text};
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::model::{ResourceRecord, StackRecord};
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

fn drift() -> Value {
    json!({"StackResourceDriftStatus": "NOT_CHECKED"})
}

fn base(stack: &StackRecord, r: &ResourceRecord, time_key: &str) -> Value {
    let mut v = json!({
        "StackName": stack.name,
        "StackId": stack.stack_id,
        "LogicalResourceId": r.logical_id,
        "ResourceType": r.resource_type,
        "ResourceStatus": r.status.as_str(),
        "DriftInformation": drift(),
    });
    v[time_key] = json!(r.updated);
    if let Some(p) = &r.physical_id {
        v["PhysicalResourceId"] = json!(p);
    }
    if let Some(reason) = &r.status_reason {
        v["ResourceStatusReason"] = json!(reason);
    }
    v
}

pub fn describe_one(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    input: Value,
) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let logical = required(&input, "LogicalResourceId")?;
    let state = cfn.state();
    let stack = state
        .find(ctx.region, name)
        .ok_or_else(|| CfnError::stack_not_found(name))?;
    let r = state
        .resources
        .get(&stack.stack_id)
        .and_then(|m| m.get(logical))
        .ok_or_else(|| {
            CfnError::validation(format!(
                "Resource {logical} does not exist for stack {}",
                stack.name
            ))
        })?;
    Ok(json!({ "StackResourceDetail": base(stack, r, "LastUpdatedTimestamp") }))
}

pub fn describe(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let state = cfn.state();
    let stack = match (
        text(&input, "StackName"),
        text(&input, "PhysicalResourceId"),
    ) {
        (Some(name), _) => state
            .find(ctx.region, name)
            .ok_or_else(|| CfnError::stack_not_found(name))?,
        (None, Some(physical)) => state
            .resources
            .iter()
            .find(|(_, m)| {
                m.values()
                    .any(|r| r.physical_id.as_deref() == Some(physical))
            })
            .and_then(|(id, _)| state.stacks.get(id))
            .filter(|s| s.region == ctx.region)
            .ok_or_else(|| CfnError::validation(format!("Stack for {physical} does not exist")))?,
        (None, None) => {
            return Err(CfnError::validation(
                "Either StackName or PhysicalResourceId must be specified.",
            ))
        }
    };
    let logical = text(&input, "LogicalResourceId");
    let items: Vec<Value> = state
        .resources
        .get(&stack.stack_id)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(|r| logical.is_none_or(|l| l == r.logical_id))
        .map(|r| base(stack, r, "Timestamp"))
        .collect();
    Ok(json!({ "StackResources": items }))
}

pub fn list(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let state = cfn.state();
    let stack = state
        .find(ctx.region, name)
        .ok_or_else(|| CfnError::stack_not_found(name))?;
    let items: Vec<Value> = state
        .resources
        .get(&stack.stack_id)
        .into_iter()
        .flat_map(|m| m.values())
        .map(|r| {
            let mut v = base(stack, r, "LastUpdatedTimestamp");
            if let Some(o) = v.as_object_mut() {
                o.remove("StackName");
                o.remove("StackId");
            }
            v
        })
        .collect();
    let (items, next) = page(&items, &input, 100)?;
    let mut out = json!({ "StackResourceSummaries": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
