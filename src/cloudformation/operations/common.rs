//! What the operation handlers share: reading request members, the checks of a new stack
//! name and template, starting a stack operation, and a stack as DescribeStacks shows it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::model::{Deployment, StackRecord, StackStatus, Tag};
use crate::cloudformation::plan::{Plan, StackIdentity, StackLookup};
use crate::cloudformation::resources::Catalog;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::template::Template;
use crate::domain::region::Region;
use crate::domain::request::RequestContext;

pub fn text<'a>(input: &'a Value, key: &str) -> Option<&'a str> {
    input.get(key).and_then(Value::as_str)
}

pub fn flag(input: &Value, key: &str) -> Option<bool> {
    input.get(key).and_then(Value::as_bool)
}

pub fn strings(input: &Value, key: &str) -> Vec<String> {
    input
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn tags(input: &Value) -> Option<Vec<Tag>> {
    input.get("Tags").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|t| {
                Some(Tag {
                    key: t.get("Key")?.as_str()?.to_string(),
                    value: t.get("Value")?.as_str()?.to_string(),
                })
            })
            .collect()
    })
}

pub fn required<'a>(input: &'a Value, key: &str) -> CfnResult<&'a str> {
    text(input, key).ok_or_else(|| {
        CfnError::validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            decapitalize(key)
        ))
    })
}

pub fn decapitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A new stack's name must be a CloudFormation name.
pub fn check_stack_name(name: &str) -> CfnResult<()> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CfnError::validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

/// The template text of a request (TemplateURL is not fetched).
pub fn template_body(input: &Value, previous: Option<&str>) -> CfnResult<String> {
    if flag(input, "UsePreviousTemplate") == Some(true) {
        if input.get("TemplateBody").is_some() {
            return Err(CfnError::validation(
                "You cannot specify both usePreviousTemplate and Template Body",
            ));
        }
        return previous.map(str::to_string).ok_or_else(|| {
            CfnError::validation("UsePreviousTemplate can only be used with an existing stack")
        });
    }
    if let Some(b) = text(input, "TemplateBody") {
        return Ok(b.to_string());
    }
    if input.get("TemplateURL").is_some() {
        return Err(CfnError::validation(
            "TemplateURL is not supported by hsm-kms (it has no S3): pass the template in TemplateBody (aws cloudformation deploy does for templates up to 51,200 bytes).",
        ));
    }
    Err(CfnError::validation(
        "Either Template URL or Template Body must be specified.",
    ))
}

pub fn new_stack_id(cfn: &CloudFormation, region: Region, name: &str) -> String {
    format!(
        "arn:{}:cloudformation:{region}:{}:stack/{name}/{}",
        region.partition().as_str(),
        cfn.account(),
        uuid::Uuid::new_v4()
    )
}

pub fn identity<'a>(
    cfn: &'a CloudFormation,
    region: Region,
    name: &'a str,
    id: &'a str,
) -> StackIdentity<'a> {
    StackIdentity {
        region,
        account: cfn.account(),
        stack_name: name,
        stack_id: id,
    }
}

/// Checks what can be checked before any resource exists (with the stack's current
/// resources for an update).
pub fn check_plan(cfn: &CloudFormation, plan: &Plan, stack_id: &str) -> CfnResult<()> {
    let state = cfn.state();
    let empty = Default::default();
    let resources = state.resources.get(stack_id).unwrap_or(&empty);
    let lookup = StackLookup {
        resources,
        exports: &state.exports,
        region: plan.pseudo.region,
        unknown: resources.keys().cloned().collect::<BTreeSet<_>>(),
    };
    plan.check_static(&lookup)
}

/// True when deploying `plan` over `stack` would change nothing: no resource change,
/// same outputs, same tags.
pub fn nothing_to_do(
    cfn: &CloudFormation,
    stack: &StackRecord,
    plan: &Plan,
    deployment: &Deployment,
) -> CfnResult<(bool, Vec<Value>)> {
    let state = cfn.state();
    let empty = Default::default();
    let resources = state.resources.get(&stack.stack_id).unwrap_or(&empty);
    let changes = plan.changes(resources, &state.exports)?;
    if !changes.is_empty() {
        return Ok((false, changes));
    }
    let lookup = StackLookup {
        resources,
        exports: &state.exports,
        region: stack.region,
        unknown: BTreeSet::new(),
    };
    let outputs = plan.outputs(&plan.context(&lookup)?)?;
    let same = outputs == stack.outputs
        && deployment.tags == stack.current.tags
        && plan.template.description == stack.description;
    Ok((same, changes))
}

/// Starts an update of `stack` to `deployment` (the caller holds the write guard).
pub fn begin_update(
    cfn: &Arc<CloudFormation>,
    ctx: &RequestContext,
    mut stack: StackRecord,
    deployment: Deployment,
    disable_rollback: Option<bool>,
    change_set_id: Option<String>,
) -> CfnResult<String> {
    let now = cfn.kms.clock.now();
    stack.previous = Some(stack.current.clone());
    stack.previous_imports = Some(stack.imports.clone());
    stack.current = deployment;
    stack.updated = Some(now);
    stack.access_key = ctx.access_key.clone();
    stack.change_set_id = change_set_id;
    if let Some(d) = disable_rollback {
        stack.disable_rollback = d;
    }
    start(
        cfn,
        stack,
        StackStatus::UpdateInProgress,
        crate::cloudformation::engine::Job::Update,
    )
}

/// Records the stack's new status with its "User Initiated" event, then starts the job.
pub fn start(
    cfn: &Arc<CloudFormation>,
    mut stack: StackRecord,
    status: StackStatus,
    job: crate::cloudformation::engine::Job,
) -> CfnResult<String> {
    stack.status = status;
    stack.status_reason = Some("User Initiated".into());
    stack.event_seq += 1;
    let event = crate::cloudformation::model::EventRecord {
        stack_id: stack.stack_id.clone(),
        stack_name: stack.name.clone(),
        seq: stack.event_seq,
        event_id: uuid::Uuid::new_v4().to_string(),
        logical_id: stack.name.clone(),
        physical_id: Some(stack.stack_id.clone()),
        resource_type: "AWS::CloudFormation::Stack".into(),
        timestamp: cfn.kms.clock.now(),
        status: status.as_str().into(),
        reason: Some("User Initiated".into()),
        properties: None,
        client_request_token: stack.client_request_token.clone(),
    };
    let id = stack.stack_id.clone();
    cfn.commit(vec![
        crate::cloudformation::store::Write::PutStack(stack),
        crate::cloudformation::store::Write::PutEvent(event),
    ])?;
    crate::cloudformation::engine::spawn(cfn, &id, job);
    Ok(id)
}

/// A template's parameters as DescribeStacks shows them (NoEcho values masked).
pub fn parameters_json(stack: &StackRecord) -> Value {
    let no_echo: BTreeSet<String> = Template::parse(&stack.current.template_body, &Catalog)
        .map(|t| {
            t.parameters
                .values()
                .filter(|p| p.no_echo)
                .map(|p| p.name.clone())
                .collect()
        })
        .unwrap_or_default();
    Value::Array(
        stack
            .current
            .parameters
            .iter()
            .map(|(k, v)| {
                json!({
                    "ParameterKey": k,
                    "ParameterValue": if no_echo.contains(k) { "****" } else { v.as_str() },
                })
            })
            .collect(),
    )
}

pub fn tags_json(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// A stack as DescribeStacks shows it.
pub fn stack_json(stack: &StackRecord) -> Value {
    let mut v = json!({
        "StackId": stack.stack_id,
        "StackName": stack.name,
        "Parameters": parameters_json(stack),
        "CreationTime": stack.created,
        "RollbackConfiguration": {},
        "StackStatus": stack.status.as_str(),
        "DisableRollback": stack.disable_rollback,
        "NotificationARNs": stack.current.notification_arns,
        "Capabilities": stack.current.capabilities,
        "Outputs": stack.outputs.iter().map(|o| {
            let mut out = json!({"OutputKey": o.key, "OutputValue": o.value});
            if let Some(d) = &o.description { out["Description"] = json!(d); }
            if let Some(e) = &o.export_name { out["ExportName"] = json!(e); }
            out
        }).collect::<Vec<_>>(),
        "Tags": tags_json(&stack.current.tags),
        "EnableTerminationProtection": stack.termination_protection,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    });
    let opt = |v: &mut Value, k: &str, x: Option<Value>| {
        if let Some(x) = x {
            v[k] = x;
        }
    };
    opt(
        &mut v,
        "ChangeSetId",
        stack.change_set_id.clone().map(Value::String),
    );
    opt(
        &mut v,
        "Description",
        stack.description.clone().map(Value::String),
    );
    opt(&mut v, "DeletionTime", stack.deleted.map(|t| json!(t)));
    opt(&mut v, "LastUpdatedTime", stack.updated.map(|t| json!(t)));
    opt(
        &mut v,
        "StackStatusReason",
        stack.status_reason.clone().map(Value::String),
    );
    opt(
        &mut v,
        "TimeoutInMinutes",
        stack.timeout_minutes.map(|t| json!(t)),
    );
    opt(&mut v, "RoleARN", stack.role_arn.clone().map(Value::String));
    v
}

/// Offset paging with an opaque `NextToken`.
pub fn page<T: Clone>(
    items: &[T],
    input: &Value,
    size: usize,
) -> CfnResult<(Vec<T>, Option<String>)> {
    let start = match text(input, "NextToken") {
        None => 0,
        Some(t) => t
            .strip_prefix("hsm-kms-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| CfnError::validation(format!("Invalid NextToken {t}")))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| format!("hsm-kms-page-{end}"));
    Ok((items[start..end].to_vec(), next))
}
