//! DescribeStacks (one stack by name or id — a deleted one by id only — or every live
//! stack of the Region) and ListStacks (summaries, deleted stacks included, filtered by
//! status).

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{page, stack_json, strings, text};
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::model::StackStatus;
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let state = cfn.state();
    if let Some(name) = text(&input, "StackName") {
        let stack = state
            .find(ctx.region, name)
            .ok_or_else(|| CfnError::stack_not_found(name))?;
        return Ok(json!({ "Stacks": [stack_json(stack)] }));
    }
    let mut stacks: Vec<Value> = state
        .stacks
        .values()
        .filter(|s| s.region == ctx.region && s.status != StackStatus::DeleteComplete)
        .map(stack_json)
        .collect();
    stacks.reverse();
    let (items, next) = page(&stacks, &input, 100)?;
    let mut out = json!({ "Stacks": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}

pub fn list(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let filter = strings(&input, "StackStatusFilter");
    let state = cfn.state();
    let mut summaries: Vec<Value> = state
        .stacks
        .values()
        .filter(|s| s.region == ctx.region)
        .filter(|s| filter.is_empty() || filter.iter().any(|f| f == s.status.as_str()))
        .map(|s| {
            let mut v = json!({
                "StackId": s.stack_id,
                "StackName": s.name,
                "CreationTime": s.created,
                "StackStatus": s.status.as_str(),
                "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
            });
            if let Some(d) = &s.description {
                v["TemplateDescription"] = json!(d);
            }
            if let Some(t) = s.updated {
                v["LastUpdatedTime"] = json!(t);
            }
            if let Some(t) = s.deleted {
                v["DeletionTime"] = json!(t);
            }
            if let Some(r) = &s.status_reason {
                v["StackStatusReason"] = json!(r);
            }
            v
        })
        .collect();
    summaries.reverse();
    let (items, next) = page(&summaries, &input, 100)?;
    let mut out = json!({ "StackSummaries": items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok(out)
}
