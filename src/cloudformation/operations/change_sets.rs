//! Change sets: CreateChangeSet (CREATE for a new stack, which waits in
//! REVIEW_IN_PROGRESS; UPDATE for an existing one), DescribeChangeSet (the resource
//! changes: Add, Modify with Replacement True/False/Conditional, Remove),
//! ExecuteChangeSet, DeleteChangeSet, ListChangeSets. The changes are computed when the
//! change set is created, so it is CREATE_COMPLETE (or FAILED: "The submitted
//! information didn't contain changes. …") when CreateChangeSet answers.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{
    begin_update, check_plan, check_stack_name, flag, identity, new_stack_id, nothing_to_do,
    required, start, strings, tags, tags_json, template_body, text,
};
use crate::cloudformation::engine::Job;
use crate::cloudformation::error::{CfnError, CfnErrorKind, CfnResult};
use crate::cloudformation::model::{
    ChangeSetRecord, ChangeSetStatus, ExecutionStatus, StackRecord, StackStatus,
};
use crate::cloudformation::plan::Plan;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::store::Write;
use crate::cloudformation::template::params::GivenParameter;
use crate::domain::request::RequestContext;

const NO_CHANGES: &str =
    "The submitted information didn't contain changes. Submit different information to create a change set.";

fn not_found(name: &str) -> CfnError {
    CfnError::new(
        CfnErrorKind::ChangeSetNotFound,
        format!("ChangeSet [{name}] does not exist"),
    )
}

/// A change set by ARN, or by name within the stack named.
pub fn find(
    cfn: &CloudFormation,
    ctx: &RequestContext,
    name: &str,
    stack: Option<&str>,
) -> CfnResult<ChangeSetRecord> {
    let state = cfn.state();
    if name.starts_with("arn:") {
        return state
            .change_sets
            .get(name)
            .filter(|c| c.region == ctx.region)
            .cloned()
            .ok_or_else(|| not_found(name));
    }
    let stack_name = stack.ok_or_else(|| {
        CfnError::validation(
            "StackName must be specified if ChangeSetName is not specified as an ARN.",
        )
    })?;
    let stack = state
        .find(ctx.region, stack_name)
        .ok_or_else(|| not_found(name))?;
    state
        .change_sets
        .values()
        .find(|c| c.stack_id == stack.stack_id && c.name == name)
        .cloned()
        .ok_or_else(|| not_found(name))
}

pub fn create(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let stack_name = required(&input, "StackName")?;
    let name = required(&input, "ChangeSetName")?;
    let kind = text(&input, "ChangeSetType").unwrap_or("UPDATE");
    if kind == "IMPORT" {
        return Err(CfnError::validation(
            "ChangeSetType IMPORT is not supported by hsm-kms: create or update stacks instead.",
        ));
    }
    let _guard = cfn.write_guard();
    let existing = cfn.state().find(ctx.region, stack_name).cloned();
    let stack = match (kind, existing) {
        ("CREATE", Some(s)) if s.status != StackStatus::ReviewInProgress => {
            return Err(CfnError::new(
                CfnErrorKind::AlreadyExists,
                format!("Stack [{stack_name}] already exists and cannot be created again with the changeSet [{name}]."),
            ))
        }
        ("CREATE", Some(s)) => s,
        ("CREATE", None) => {
            check_stack_name(stack_name)?;
            let stack_id = new_stack_id(cfn, ctx.region, stack_name);
            let now = cfn.kms.clock.now();
            StackRecord {
                stack_id,
                name: stack_name.to_string(),
                region: ctx.region,
                status: StackStatus::ReviewInProgress,
                status_reason: None,
                description: None,
                created: now,
                updated: None,
                deleted: None,
                current: crate::cloudformation::model::Deployment {
                    template_body: String::new(),
                    parameters: Default::default(),
                    tags: Vec::new(),
                    capabilities: Vec::new(),
                    notification_arns: Vec::new(),
                },
                previous: None,
                outputs: Vec::new(),
                disable_rollback: false,
                timeout_minutes: None,
                role_arn: None,
                termination_protection: false,
                change_set_id: None,
                access_key: ctx.access_key.clone(),
                imports: Vec::new(),
                previous_imports: None,
                retain: Vec::new(),
                event_seq: 0,
                client_request_token: None,
            }
        }
        (_, None) => {
            return Err(CfnError::validation(format!("Stack [{stack_name}] does not exist")))
        }
        (_, Some(s)) => {
            if !s.status.updatable() {
                return Err(CfnError::validation(format!(
                    "Stack:{} is in {} state and can not be updated.",
                    s.stack_id,
                    s.status.as_str()
                )));
            }
            s
        }
    };
    let duplicate = cfn
        .state()
        .change_sets
        .values()
        .any(|c| c.stack_id == stack.stack_id && c.name == name);
    if duplicate {
        return Err(CfnError::new(
            CfnErrorKind::AlreadyExists,
            format!("ChangeSet [{name}] already exists"),
        ));
    }
    let update = kind != "CREATE";
    let previous_body = update.then_some(stack.current.template_body.as_str());
    let body = template_body(&input, previous_body)?;
    let (deployment, plan) = Plan::prepare(
        &identity(cfn, ctx.region, &stack.name, &stack.stack_id),
        &body,
        &GivenParameter::from_input(&input),
        update.then_some(&stack.current.parameters),
        tags(&input).unwrap_or_else(|| stack.current.tags.clone()),
        strings(&input, "Capabilities"),
        strings(&input, "NotificationARNs"),
    )?;
    check_plan(cfn, &plan, &stack.stack_id)?;
    let (empty, changes) = nothing_to_do(cfn, &stack, &plan, &deployment)?;
    let empty = update && empty;
    let id = format!(
        "arn:{}:cloudformation:{}:{}:changeSet/{name}/{}",
        ctx.region.partition().as_str(),
        ctx.region,
        cfn.account(),
        uuid::Uuid::new_v4()
    );
    let cs = ChangeSetRecord {
        id: id.clone(),
        name: name.to_string(),
        stack_id: stack.stack_id.clone(),
        stack_name: stack.name.clone(),
        region: ctx.region,
        description: text(&input, "Description").map(str::to_string),
        created: cfn.kms.clock.now(),
        status: if empty {
            ChangeSetStatus::Failed
        } else {
            ChangeSetStatus::CreateComplete
        },
        status_reason: empty.then(|| NO_CHANGES.to_string()),
        execution_status: if empty {
            ExecutionStatus::Unavailable
        } else {
            ExecutionStatus::Available
        },
        change_set_type: kind.to_string(),
        deployment,
        changes,
        disable_rollback: None,
        role_arn: text(&input, "RoleARN").map(str::to_string),
    };
    let stack_id = stack.stack_id.clone();
    let mut writes = vec![Write::PutChangeSet(cs)];
    if stack.status == StackStatus::ReviewInProgress && stack.event_seq == 0 {
        // The new stack waits for its change set, with its first event.
        let mut stack = stack;
        stack.event_seq = 1;
        writes.push(Write::PutEvent(crate::cloudformation::model::EventRecord {
            stack_id: stack.stack_id.clone(),
            stack_name: stack.name.clone(),
            seq: 1,
            event_id: uuid::Uuid::new_v4().to_string(),
            logical_id: stack.name.clone(),
            physical_id: Some(stack.stack_id.clone()),
            resource_type: "AWS::CloudFormation::Stack".into(),
            timestamp: cfn.kms.clock.now(),
            status: "REVIEW_IN_PROGRESS".into(),
            reason: Some("User Initiated".into()),
            properties: None,
            client_request_token: None,
        }));
        writes.push(Write::PutStack(stack));
    }
    cfn.commit(writes)?;
    Ok(json!({ "Id": id, "StackId": stack_id }))
}

pub fn describe(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "ChangeSetName")?;
    let cs = find(cfn, ctx, name, text(&input, "StackName"))?;
    let mut out = json!({
        "ChangeSetName": cs.name,
        "ChangeSetId": cs.id,
        "StackId": cs.stack_id,
        "StackName": cs.stack_name,
        "Parameters": cs.deployment.parameters.iter()
            .map(|(k, v)| json!({"ParameterKey": k, "ParameterValue": v})).collect::<Vec<_>>(),
        "CreationTime": cs.created,
        "ExecutionStatus": serde_json::to_value(cs.execution_status).unwrap_or_default(),
        "Status": serde_json::to_value(cs.status).unwrap_or_default(),
        "NotificationARNs": cs.deployment.notification_arns,
        "RollbackConfiguration": {},
        "Capabilities": cs.deployment.capabilities,
        "Tags": tags_json(&cs.deployment.tags),
        "Changes": cs.changes,
        "IncludeNestedStacks": false,
    });
    if let Some(d) = &cs.description {
        out["Description"] = json!(d);
    }
    if let Some(r) = &cs.status_reason {
        out["StatusReason"] = json!(r);
    }
    Ok(out)
}

pub fn execute(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "ChangeSetName")?;
    let id = {
        let _guard = cfn.write_guard();
        let mut cs = find(cfn, ctx, name, text(&input, "StackName"))?;
        if cs.execution_status != ExecutionStatus::Available {
            return Err(CfnError::new(
                CfnErrorKind::InvalidChangeSetStatus,
                format!(
                    "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
                    cs.id,
                    serde_json::to_value(cs.execution_status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            ));
        }
        let mut stack = cfn
            .state()
            .stacks
            .get(&cs.stack_id)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let disable_rollback = flag(&input, "DisableRollback");
        // Executing one change set makes the stack's other change sets obsolete.
        let mut writes: Vec<Write> = cfn
            .state()
            .change_sets
            .values()
            .filter(|c| c.stack_id == cs.stack_id && c.id != cs.id)
            .map(|c| Write::DeleteChangeSet { id: c.id.clone() })
            .collect();
        cs.execution_status = ExecutionStatus::ExecuteInProgress;
        writes.push(Write::PutChangeSet(cs.clone()));
        cfn.commit(writes)?;
        if cs.change_set_type == "CREATE" {
            if stack.status != StackStatus::ReviewInProgress {
                return Err(CfnError::validation(format!(
                    "Stack:{} is in {} state and can not be updated.",
                    stack.stack_id,
                    stack.status.as_str()
                )));
            }
            stack.current = cs.deployment.clone();
            stack.description = Plan::of(
                &identity(cfn, ctx.region, &stack.name, &stack.stack_id),
                &stack.current,
            )
            .ok()
            .and_then(|p| p.template.description);
            stack.disable_rollback = disable_rollback.unwrap_or(false);
            stack.change_set_id = Some(cs.id.clone());
            stack.access_key = ctx.access_key.clone();
            stack.role_arn = cs.role_arn.clone();
            start(cfn, stack, StackStatus::CreateInProgress, Job::Create)?
        } else {
            if !stack.status.updatable() {
                return Err(CfnError::validation(format!(
                    "Stack:{} is in {} state and can not be updated.",
                    stack.stack_id,
                    stack.status.as_str()
                )));
            }
            begin_update(
                cfn,
                ctx,
                stack,
                cs.deployment.clone(),
                disable_rollback,
                Some(cs.id.clone()),
            )?
        }
    };
    cfn.settle(&id);
    Ok(json!({}))
}

pub fn delete(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "ChangeSetName")?;
    let _guard = cfn.write_guard();
    let cs = find(cfn, ctx, name, text(&input, "StackName"))?;
    if cs.execution_status == ExecutionStatus::ExecuteInProgress {
        return Err(CfnError::new(
            CfnErrorKind::InvalidChangeSetStatus,
            format!(
                "ChangeSet [{}] cannot be deleted while it is being executed",
                cs.id
            ),
        ));
    }
    cfn.commit(vec![Write::DeleteChangeSet { id: cs.id }])?;
    Ok(json!({}))
}

pub fn list(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let stack_name = required(&input, "StackName")?;
    let state = cfn.state();
    let stack = state
        .find(ctx.region, stack_name)
        .ok_or_else(|| CfnError::stack_not_found(stack_name))?;
    let summaries: Vec<Value> = state
        .change_sets
        .values()
        .filter(|c| c.stack_id == stack.stack_id)
        .map(|c| {
            let mut v = json!({
                "StackId": c.stack_id,
                "StackName": c.stack_name,
                "ChangeSetId": c.id,
                "ChangeSetName": c.name,
                "ExecutionStatus": serde_json::to_value(c.execution_status).unwrap_or_default(),
                "Status": serde_json::to_value(c.status).unwrap_or_default(),
                "CreationTime": c.created,
                "IncludeNestedStacks": false,
            });
            if let Some(d) = &c.description {
                v["Description"] = json!(d);
            }
            if let Some(r) = &c.status_reason {
                v["StatusReason"] = json!(r);
            }
            v
        })
        .collect();
    Ok(json!({ "Summaries": summaries }))
}
