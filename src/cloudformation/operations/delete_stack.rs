//! DeleteStack: records DELETE_IN_PROGRESS and starts the deletion (resources in reverse
//! dependency order, DeletionPolicy honoured; refused while another stack imports one of
//! the stack's exports). Deleting a stack that does not exist succeeds, as in AWS.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::{required, start, strings};
use crate::cloudformation::engine::Job;
use crate::cloudformation::error::{CfnError, CfnResult};
use crate::cloudformation::model::StackStatus;
use crate::cloudformation::service::CloudFormation;
use crate::cloudformation::store::Write;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
    let name = required(&input, "StackName")?;
    let retain = strings(&input, "RetainResources");
    let id = {
        let _guard = cfn.write_guard();
        let Some(mut stack) = cfn.state().find(ctx.region, name).cloned() else {
            return Ok(json!({}));
        };
        match stack.status {
            StackStatus::DeleteComplete | StackStatus::DeleteInProgress => return Ok(json!({})),
            s if s.in_progress() => {
                return Err(CfnError::validation(format!(
                    "Stack [{}] cannot be deleted while in status {}",
                    stack.name,
                    s.as_str()
                )))
            }
            _ => {}
        }
        if stack.termination_protection {
            return Err(CfnError::validation(format!(
                "Stack [{}] cannot be deleted while TerminationProtection is enabled",
                stack.name
            )));
        }
        if !retain.is_empty() && stack.status != StackStatus::DeleteFailed {
            return Err(CfnError::validation(
                "Invalid operation on stack state: RetainResources can only be specified when the stack is in DELETE_FAILED state",
            ));
        }
        stack.retain = retain;
        stack.access_key = ctx.access_key.clone();
        let change_sets: Vec<Write> = cfn
            .state()
            .change_sets
            .values()
            .filter(|c| c.stack_id == stack.stack_id)
            .map(|c| Write::DeleteChangeSet { id: c.id.clone() })
            .collect();
        cfn.commit(change_sets)?;
        start(cfn, stack, StackStatus::DeleteInProgress, Job::Delete)?
    };
    cfn.settle(&id);
    Ok(json!({}))
}
