//! GetTemplate: the template text of a stack (as deployed) or of a change set.

use std::sync::Arc;

use serde_json::{json, Value};

use super::text;
use crate::cloudformation::error::{CfnError, CfnErrorKind, CfnResult};
use crate::cloudformation::{CfnContext, CloudFormation};

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &CfnContext, input: Value) -> CfnResult<Value> {
    let body = if let Some(cs) = text(&input, "ChangeSetName") {
        super::change_sets::find(cfn, ctx, cs, text(&input, "StackName"))?
            .deployment
            .template_body
    } else {
        let name = text(&input, "StackName").ok_or_else(|| {
            CfnError::new(
                CfnErrorKind::Validation,
                "Either StackName or ChangeSetName must be specified.",
            )
        })?;
        cfn.stack(ctx.region, name)?.current.template_body
    };
    Ok(json!({ "TemplateBody": body, "StagesAvailable": ["Original", "Processed"] }))
}
