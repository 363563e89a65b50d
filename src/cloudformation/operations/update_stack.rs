//! UpdateStack (a new template or parameter values for a stack; "No updates are to be
//! performed." when nothing would change) and UpdateTerminationProtection.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{
    begin_update, check_plan, flag, identity, nothing_to_do, required, strings, tags, template_body,
};
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::plan::Plan;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::store::Write;
use crate::cloudformation::template::params::GivenParameter;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let id = {
        let _guard = cfn.write_guard();
        let stack = cfn.stack(ctx.region, name)?;
        if !stack.status.updatable() {
            return Err(CfnError::validation(format!(
                "Stack:{} is in {} state and can not be updated.",
                stack.stack_id,
                stack.status.as_str()
            )));
        }
        let body = template_body(&input, Some(&stack.current.template_body))?;
        let capabilities = if input.get("Capabilities").is_some() {
            strings(&input, "Capabilities")
        } else {
            stack.current.capabilities.clone()
        };
        let notification_arns = if input.get("NotificationARNs").is_some() {
            strings(&input, "NotificationARNs")
        } else {
            stack.current.notification_arns.clone()
        };
        let (deployment, plan) = Plan::prepare(
            &identity(cfn, ctx.region, &stack.name, &stack.stack_id),
            &body,
            &GivenParameter::from_input(&input),
            Some(&stack.current.parameters),
            tags(&input).unwrap_or_else(|| stack.current.tags.clone()),
            capabilities,
            notification_arns,
        )?;
        check_plan(cfn, &plan, &stack.stack_id)?;
        if nothing_to_do(cfn, &stack, &plan, &deployment)?.0 {
            return Err(CfnError::validation("No updates are to be performed."));
        }
        begin_update(
            cfn,
            ctx,
            stack,
            deployment,
            flag(&input, "DisableRollback"),
            None,
        )?
    };
    cfn.settle(&id);
    Ok(json!({ "StackId": id }))
}

pub fn termination_protection(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    input: Value,
) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let enable = flag(&input, "EnableTerminationProtection").unwrap_or(false);
    let _guard = cfn.write_guard();
    let mut stack = cfn.stack(ctx.region, name)?;
    stack.termination_protection = enable;
    let id = stack.stack_id.clone();
    cfn.commit(vec![Write::PutStack(stack)])?;
    Ok(json!({ "StackId": id }))
}
