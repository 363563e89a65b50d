//! CreateStack: checks the template and parameters, records the stack
//! CREATE_IN_PROGRESS and starts its creation.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{
    check_plan, check_stack_name, flag, identity, new_stack_id, required, start, strings, tags,
    template_body, text,
};
use crate::cloudformation::engine::Job;
use crate::cloudformation::error::{CfnError, CfnErrorKind, CfnResult};
use crate::cloudformation::model::{StackRecord, StackStatus};
use crate::cloudformation::plan::Plan;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::template::params::GivenParameter;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    check_stack_name(name)?;
    let body = template_body(&input, None)?;
    let on_failure = text(&input, "OnFailure");
    if on_failure.is_some() && input.get("DisableRollback").is_some() {
        return Err(CfnError::validation(
            "You cannot specify both DisableRollback and OnFailure.",
        ));
    }
    let disable_rollback =
        flag(&input, "DisableRollback") == Some(true) || on_failure == Some("DO_NOTHING");
    let id = {
        let _guard = cfn.write_guard();
        if cfn.state().find(ctx.region, name).is_some() {
            return Err(CfnError::new(
                CfnErrorKind::AlreadyExists,
                format!("Stack [{name}] already exists"),
            ));
        }
        let stack_id = new_stack_id(cfn, ctx.region, name);
        let (deployment, plan) = Plan::prepare(
            &identity(cfn, ctx.region, name, &stack_id),
            &body,
            &GivenParameter::from_input(&input),
            None,
            tags(&input).unwrap_or_default(),
            strings(&input, "Capabilities"),
            strings(&input, "NotificationARNs"),
        )?;
        check_plan(cfn, &plan, &stack_id)?;
        let stack = StackRecord {
            stack_id: stack_id.clone(),
            name: name.to_string(),
            region: ctx.region,
            status: StackStatus::CreateInProgress,
            status_reason: None,
            description: plan.template.description.clone(),
            created: cfn.kms.clock.now(),
            updated: None,
            deleted: None,
            current: deployment,
            previous: None,
            outputs: Vec::new(),
            disable_rollback,
            timeout_minutes: input.get("TimeoutInMinutes").and_then(Value::as_i64),
            role_arn: text(&input, "RoleARN").map(str::to_string),
            termination_protection: flag(&input, "EnableTerminationProtection") == Some(true),
            change_set_id: None,
            access_key: ctx.access_key.clone(),
            imports: Vec::new(),
            previous_imports: None,
            retain: Vec::new(),
            event_seq: 0,
            client_request_token: text(&input, "ClientRequestToken").map(str::to_string),
        };
        start(cfn, stack, StackStatus::CreateInProgress, Job::Create)?
    };
    cfn.settle(&id);
    Ok(json!({ "StackId": id }))
}
