//! GetTemplate: the template text of a stack (as deployed) or of a change set.

use std::sync::Arc;

use serde_json::{json, Value};

use super::common::text;
use crate::cloudformation::error::{CfnError, CfnErrorKind, CfnResult};
use crate::cloudformation::service::CloudFormation;
use crate::domain::request::RequestContext;

pub fn handle(cfn: &Arc<CloudFormation>, ctx: &RequestContext, input: Value) -> CfnResult<Value> {
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
